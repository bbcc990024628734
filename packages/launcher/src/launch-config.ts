/**
 * The typed launch configuration: flags and config file merged once, at the edge (flag >
 * config file > default), validated as accelerate validates them. `launch()` only ever sees a
 * LaunchConfig.
 */
import { UsageError } from '@ner-launch/common';
import { availableParallelism } from 'node:os';
import { resolveAutoBackend } from '@ner-launch/trainer/backend-names';
import { findTensorflowInstall } from '@ner-launch/trainer/tensorflow-install';
import {
  checkGpuIdsCover,
  processesPerMachine,
  type MixedPrecision,
  type WorkerGroupSpec,
} from '@ner-launch/worker';
import type { ConfigFileValues } from './config-file.js';
import { detectGpuIds, parseGpuIds } from './gpu-ids.js';
import { launchOption, type LaunchFlags } from './launch-options.js';

/** What the workers run: the built-in trainer, a user script, or the process-group self test. */
export type LaunchTarget =
  { kind: 'train'; args: string[] } | { kind: 'script'; path: string; args: string[] };

/**
 * A fully resolved launch: every value decided, nothing left to defaults. The fields the
 * workers' environment is built from are the worker contract's (WorkerGroupSpec: processes,
 * machines, addresses, mixed precision, backend, GPUs, timeouts); here `mainProcessPort` 0
 * means "pick a free port at launch" (single machine) and an undefined `localAddr` is decided
 * at launch. The rest is the launcher's own.
 */
export interface LaunchConfig extends Omit<WorkerGroupSpec, 'restartCount' | 'runToken'> {
  multiGpu: boolean;
  sameNetwork: boolean;
  /** Rendezvous timeout of restarted attempts when there are several machines. */
  restartRdzvTimeoutS: number;
  maxRestarts: number;
  monitorIntervalS: number;
  /** 0 none, 1 stdout, 2 stderr, 3 both: streams also shown on the console when logDir is set. */
  tee: 0 | 1 | 2 | 3;
  logDir?: string;
  quiet: boolean;
  debug: boolean;
  /** The config file that was read, if any. */
  configFile?: string;
  target: LaunchTarget;
  /** Seconds between SIGTERM and SIGKILL when the group is torn down. */
  termGraceS: number;
  /** Per-run secret; undefined: NER_RUN_TOKEN from the environment, else random (single machine). */
  runToken?: string;
}

/** A LaunchConfig with the notes to show the user (defaults used, ignored settings). */
export interface ResolvedLaunch {
  config: LaunchConfig;
  /** Flags that came from neither the command line nor the config file, as `--flag=value`. */
  defaultsUsed: string[];
  warnings: string[];
}

/** Machine facts the resolution needs, injectable for tests. */
export interface MachineFacts {
  detectGpuIds: () => number[];
  tensorflowInstalled: () => boolean;
  /** CPU cores (default os.availableParallelism). */
  cpuCount?: () => number;
}

// The cache lookup only, so that starting the launcher does not load tfjs.
function tensorflowInstalled(): boolean {
  return findTensorflowInstall() !== undefined;
}

/** The real machine. */
export const THIS_MACHINE: MachineFacts = { detectGpuIds, tensorflowInstalled };

/**
 * Most workers one machine may run: each is a Node process of its own (tens of MiB at rest,
 * hundreds training), so past this a typo is far likelier than a plan; more GPUs than this
 * per machine do not exist.
 */
export const MAX_PROCESSES_PER_MACHINE = 256;

/** Default grace period between SIGTERM and SIGKILL, in seconds. */
export const DEFAULT_TERM_GRACE_S = 5;

/**
 * Merges flags over the config file over the defaults, validates the combination and returns
 * the LaunchConfig. Errors name the flag (or config file) at fault.
 */
export function resolveLaunchConfig(
  flags: LaunchFlags,
  file: ConfigFileValues | undefined,
  target: LaunchTarget,
  machine: MachineFacts = THIS_MACHINE,
): ResolvedLaunch {
  const fromFile: LaunchFlags = { ...(file?.flags ?? {}) };
  // A hardware flag on the command line replaces the config file's hardware choice entirely.
  if (flags.cpu) delete fromFile.multiGpu;
  if (flags.multiGpu) delete fromFile.cpu;
  const defaultsUsed: string[] = [];
  const warnings = [...(file?.warnings ?? [])];
  const pick = <K extends keyof LaunchFlags>(key: K): LaunchFlags[K] => {
    if (flags[key] !== undefined) return flags[key];
    if (fromFile[key] !== undefined) return fromFile[key];
    const option = launchOption(key);
    if (option.default !== undefined && option.warnDefault)
      defaultsUsed.push(`--${option.flag}=${String(option.default)}`);
    return option.default as LaunchFlags[K];
  };
  const where = (key: keyof LaunchFlags): string => {
    const option = launchOption(key);
    if (flags[key] !== undefined) return `--${option.flag}`;
    if (fromFile[key] !== undefined && file) return `${option.yamlKey} in ${file.path}`;
    return `--${option.flag}`;
  };

  const useCpu = pick('cpu') ?? false;
  const multiGpu = pick('multiGpu') ?? false;
  if (useCpu && multiGpu)
    throw new UsageError(
      `--cpu and --multi_gpu exclude each other (${where('cpu')}, ${where('multiGpu')})`,
    );
  const mixedPrecision = pick('mixedPrecision') as MixedPrecision;
  let backend = pick('backend') as string;
  if (useCpu && backend === 'auto') backend = resolveAutoBackend(machine.tensorflowInstalled());
  if (useCpu && backend === 'cuda')
    throw new UsageError(
      `--backend cuda runs on NVIDIA GPUs, but --cpu was asked for (${where('cpu')})`,
    );

  const numMachines = pick('numMachines') as number;
  const machineRank = pick('machineRank') as number;
  if (machineRank >= numMachines)
    throw new UsageError(
      `${where('machineRank')} is ${machineRank}, but machine ranks run 0..${numMachines - 1} with num_machines ${numMachines}`,
    );
  let mainProcessIp = pick('mainProcessIp');
  if (mainProcessIp === undefined) {
    if (numMachines > 1)
      throw new UsageError(
        `--main_process_ip is required with --num_machines ${numMachines}: give the address of machine 0 (the same on every machine)`,
      );
    mainProcessIp = '127.0.0.1';
  }
  const mainProcessPort = pick('mainProcessPort') as number;
  if (mainProcessPort === 0 && numMachines > 1)
    throw new UsageError(
      `${where('mainProcessPort')} 0 (pick a free port) works on a single machine only: with several machines every launcher must know the port`,
    );

  const gpuIdsText = pick('gpuIds') as string;
  const explicitIds = parseGpuIds(gpuIdsText, where('gpuIds'));
  let gpuIds: number[] | undefined;
  if (useCpu) {
    if (explicitIds !== undefined)
      warnings.push(
        `${where('gpuIds')} is ignored with --cpu (every GPU is hidden from the workers)`,
      );
  } else {
    gpuIds = explicitIds ?? machine.detectGpuIds();
    if (gpuIds.length === 0) {
      if (multiGpu)
        throw new UsageError(
          '--multi_gpu needs GPUs, but `nvidia-smi -L` lists none; pass --gpu_ids, or use --cpu',
        );
      gpuIds = undefined;
    }
  }

  let numProcesses = flags.numProcesses ?? fromFile.numProcesses;
  if (numProcesses === undefined) {
    numProcesses = multiGpu && gpuIds ? gpuIds.length * numMachines : 1;
    defaultsUsed.push(`--num_processes=${numProcesses}`);
  }
  const perMachine = processesPerMachine({ numProcesses, numMachines }, where('numProcesses'));
  if (perMachine > MAX_PROCESSES_PER_MACHINE)
    throw new UsageError(
      `${where('numProcesses')} is ${numProcesses}: ${perMachine} worker processes per machine, more than the maximum ${MAX_PROCESSES_PER_MACHINE}`,
    );
  const cores = (machine.cpuCount ?? availableParallelism)();
  if (gpuIds === undefined && perMachine > cores)
    warnings.push(
      `${where('numProcesses')} starts ${perMachine} CPU worker processes per machine on ${cores} CPU core(s): they will compete for the cores and run slower than ${cores}`,
    );
  if (gpuIds !== undefined) {
    checkGpuIdsCover(
      gpuIds,
      perMachine,
      explicitIds ? `${where('gpuIds')} lists` : 'this machine has',
    );
    gpuIds = gpuIds.slice(0, perMachine);
  }

  const teeText = pick('tee') as string;
  const logDir = pick('logDir');
  if (teeText !== '0' && logDir === undefined)
    warnings.push(
      '--tee has no effect without --log_dir: worker output goes to the console anyway',
    );

  const config: LaunchConfig = {
    useCpu,
    multiGpu,
    mixedPrecision,
    backend,
    numProcesses,
    numMachines,
    machineRank,
    mainProcessIp,
    mainProcessPort,
    sameNetwork: pick('sameNetwork') as boolean,
    rdzvTimeoutS: pick('rdzvTimeout') as number,
    restartRdzvTimeoutS: pick('restartRdzvTimeout') as number,
    collectiveTimeoutS: pick('collectiveTimeout') as number,
    maxRestarts: pick('maxRestarts') as number,
    monitorIntervalS: pick('monitorInterval') as number,
    tee: Number(teeText) as 0 | 1 | 2 | 3,
    quiet: pick('quiet') as boolean,
    debug: pick('debug') as boolean,
    target,
    termGraceS: DEFAULT_TERM_GRACE_S,
  };
  const localAddr = pick('localAddr');
  if (localAddr !== undefined) config.localAddr = localAddr;
  if (gpuIds !== undefined) config.gpuIds = gpuIds;
  if (logDir !== undefined) config.logDir = logDir;
  if (file) config.configFile = file.path;
  return { config, defaultsUsed, warnings };
}

/** accelerate's warning text for defaults that applied. */
export function defaultsWarning(defaultsUsed: readonly string[]): string | undefined {
  if (defaultsUsed.length === 0) return undefined;
  return `These values were not passed to ner-launch and had defaults used instead: ${defaultsUsed.join(' ')}. To avoid this warning pass them explicitly or run \`ner-launch config\`.`;
}
