/**
 * The launcher ↔ worker contract: the environment variables `ner-launch` gives each worker
 * process, in one place. The launcher builds them with `envForRank` and writes them with
 * `toEnv`; a worker (the process group, the trainer, a user script) reads them back with
 * `fromEnv`. Names follow torchrun where one exists (RANK, LOCAL_RANK, WORLD_SIZE, ...), our
 * own are prefixed `NER_`.
 */

import { UsageError } from '@ner-launch/common';

/** Mixed-precision mode, as accelerate's `--mixed_precision`. */
export type MixedPrecision = 'no' | 'fp16' | 'bf16';
/** Values accepted for `--mixed_precision`. */
export const MIXED_PRECISION_VALUES: readonly MixedPrecision[] = ['no', 'fp16', 'bf16'];

/** Seconds every worker has to join the rendezvous (torch elastic's join_timeout default). */
export const DEFAULT_RDZV_TIMEOUT_S = 600;
/** Seconds one collective may take (torch.distributed's default process-group timeout). */
export const DEFAULT_COLLECTIVE_TIMEOUT_S = 1800;
/** Port of the rendezvous coordinator (accelerate's and torchrun's main_process_port). */
export const DEFAULT_MAIN_PROCESS_PORT = 29500;

/** Everything one worker process learns from its launcher. */
export interface WorkerEnv {
  /** Global rank, 0..worldSize-1 (RANK). */
  rank: number;
  /** Rank among the workers of this machine (LOCAL_RANK). */
  localRank: number;
  /** Number of workers in the whole job (WORLD_SIZE). */
  worldSize: number;
  /** Number of workers on this machine (LOCAL_WORLD_SIZE). */
  localWorldSize: number;
  /** Machine rank (GROUP_RANK, accelerate's machine_rank). */
  groupRank: number;
  /** Address of the rendezvous coordinator hosted by global rank 0 (MASTER_ADDR). */
  masterAddr: string;
  /** Port of the rendezvous coordinator (MASTER_PORT). */
  masterPort: number;
  /** Address this machine's workers bind their peer servers to and advertise (NER_LOCAL_ADDR). */
  localAddr: string;
  /** NER_MIXED_PRECISION. */
  mixedPrecision: MixedPrecision;
  /** Backend to initialise (NER_BACKEND): a `--backend` value (the trainer's LAUNCH_BACKENDS). */
  backend: string;
  /** How many times the launcher restarted the group before this attempt (NER_RESTART_COUNT). */
  restartCount: number;
  /** Per-run secret every gRPC call must carry (NER_RUN_TOKEN). */
  runToken: string;
  /** Seconds to wait for all ranks at the rendezvous (NER_RDZV_TIMEOUT). */
  rdzvTimeoutS: number;
  /** Seconds any one collective may take before it fails (NER_COLLECTIVE_TIMEOUT). */
  collectiveTimeoutS: number;
  /** The one GPU this worker may use (CUDA_VISIBLE_DEVICES); '' hides all GPUs; undefined leaves it unset. */
  cudaVisibleDevices?: string;
  /** OMP_NUM_THREADS, set to 1 when several workers share a machine (as torchrun). */
  ompNumThreads?: number;
}

/**
 * What `envForRank` needs from a launch configuration (a subset of the launcher's
 * LaunchConfig plus the per-run and per-attempt values).
 */
export interface WorkerGroupSpec {
  /** Total workers over all machines (accelerate's num_processes). */
  numProcesses: number;
  numMachines: number;
  machineRank: number;
  mainProcessIp: string;
  mainProcessPort: number;
  /** Address this machine's workers listen on; defaults to mainProcessIp. */
  localAddr?: string;
  mixedPrecision: MixedPrecision;
  backend: string;
  /** True: hide every GPU from the workers. */
  useCpu: boolean;
  /** GPU ids of this machine, one per local worker (worker i gets gpuIds[i]); undefined: leave CUDA_VISIBLE_DEVICES alone. */
  gpuIds?: readonly number[];
  restartCount: number;
  runToken: string;
  rdzvTimeoutS: number;
  collectiveTimeoutS: number;
}

/** Variable names of the contract, for readers that want to list or clear them. */
export const WORKER_ENV_NAMES = [
  'RANK',
  'LOCAL_RANK',
  'WORLD_SIZE',
  'LOCAL_WORLD_SIZE',
  'GROUP_RANK',
  'MASTER_ADDR',
  'MASTER_PORT',
  'NER_LOCAL_ADDR',
  'NER_MIXED_PRECISION',
  'NER_BACKEND',
  'NER_RESTART_COUNT',
  'NER_RUN_TOKEN',
  'NER_RDZV_TIMEOUT',
  'NER_COLLECTIVE_TIMEOUT',
  'CUDA_VISIBLE_DEVICES',
  'OMP_NUM_THREADS',
] as const;

/**
 * Workers per machine: accelerate's num_processes counts all machines, split evenly. `where`
 * names num_processes's source in the error (a flag, or a key in a config file).
 */
export function processesPerMachine(
  spec: Pick<WorkerGroupSpec, 'numProcesses' | 'numMachines'>,
  where = 'num_processes',
): number {
  if (spec.numProcesses % spec.numMachines !== 0)
    throw new UsageError(
      `${where} is ${spec.numProcesses}, not a multiple of num_machines ${spec.numMachines}: it counts the workers of all machines together`,
    );
  return spec.numProcesses / spec.numMachines;
}

/**
 * Refuses fewer GPU ids than workers per machine (each worker gets one GPU); `source` says
 * whose list it is, e.g. "--gpu_ids lists" or "this machine has".
 */
export function checkGpuIdsCover(
  gpuIds: readonly number[],
  perMachine: number,
  source = 'gpu_ids lists',
): void {
  if (gpuIds.length < perMachine)
    throw new UsageError(
      `${source} ${gpuIds.length} GPU(s) (${gpuIds.join(',')}), fewer than the ${perMachine} worker(s) per machine: give one GPU id per worker, fewer --num_processes, or --cpu`,
    );
}

/**
 * The environment of local worker `localRank` on this machine. Pure: same spec and rank, same
 * result; nothing is read from the process.
 */
export function envForRank(spec: WorkerGroupSpec, localRank: number): WorkerEnv {
  const perMachine = processesPerMachine(spec);
  if (!Number.isInteger(localRank) || localRank < 0 || localRank >= perMachine)
    throw new Error(`local rank ${localRank} is outside 0..${perMachine - 1}`);
  const env: WorkerEnv = {
    rank: spec.machineRank * perMachine + localRank,
    localRank,
    worldSize: spec.numProcesses,
    localWorldSize: perMachine,
    groupRank: spec.machineRank,
    masterAddr: spec.mainProcessIp,
    masterPort: spec.mainProcessPort,
    localAddr: spec.localAddr ?? spec.mainProcessIp,
    mixedPrecision: spec.mixedPrecision,
    backend: spec.backend,
    restartCount: spec.restartCount,
    runToken: spec.runToken,
    rdzvTimeoutS: spec.rdzvTimeoutS,
    collectiveTimeoutS: spec.collectiveTimeoutS,
  };
  if (spec.useCpu) {
    env.cudaVisibleDevices = '';
  } else if (spec.gpuIds !== undefined) {
    checkGpuIdsCover(spec.gpuIds, perMachine);
    env.cudaVisibleDevices = String(spec.gpuIds[localRank]);
  }
  if (perMachine > 1) env.ompNumThreads = 1;
  return env;
}

/** The variables to add to a worker's environment. */
export function toEnv(env: WorkerEnv): Record<string, string> {
  const out: Record<string, string> = {
    RANK: String(env.rank),
    LOCAL_RANK: String(env.localRank),
    WORLD_SIZE: String(env.worldSize),
    LOCAL_WORLD_SIZE: String(env.localWorldSize),
    GROUP_RANK: String(env.groupRank),
    MASTER_ADDR: env.masterAddr,
    MASTER_PORT: String(env.masterPort),
    NER_LOCAL_ADDR: env.localAddr,
    NER_MIXED_PRECISION: env.mixedPrecision,
    NER_BACKEND: env.backend,
    NER_RESTART_COUNT: String(env.restartCount),
    NER_RUN_TOKEN: env.runToken,
    NER_RDZV_TIMEOUT: String(env.rdzvTimeoutS),
    NER_COLLECTIVE_TIMEOUT: String(env.collectiveTimeoutS),
  };
  if (env.cudaVisibleDevices !== undefined) out.CUDA_VISIBLE_DEVICES = env.cudaVisibleDevices;
  if (env.ompNumThreads !== undefined) out.OMP_NUM_THREADS = String(env.ompNumThreads);
  return out;
}

/** True in a process started by `ner-launch` as a worker (RANK and NER_RUN_TOKEN set). */
export function isLaunchedWorker(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.RANK !== undefined && env.NER_RUN_TOKEN !== undefined;
}

/** Defaults of a process started without a launcher: one worker, no gRPC needed. */
export function standaloneWorkerEnv(): WorkerEnv {
  return {
    rank: 0,
    localRank: 0,
    worldSize: 1,
    localWorldSize: 1,
    groupRank: 0,
    masterAddr: '127.0.0.1',
    masterPort: DEFAULT_MAIN_PROCESS_PORT,
    localAddr: '127.0.0.1',
    mixedPrecision: 'no',
    backend: 'auto',
    restartCount: 0,
    runToken: '',
    rdzvTimeoutS: DEFAULT_RDZV_TIMEOUT_S,
    collectiveTimeoutS: DEFAULT_COLLECTIVE_TIMEOUT_S,
  };
}

function readInt(
  env: NodeJS.ProcessEnv,
  name: string,
  fallback: number | undefined,
  min: number,
): number {
  const raw = env[name];
  if (raw === undefined || raw === '') {
    if (fallback === undefined)
      throw new UsageError(
        `worker environment: ${name} is not set (start workers with ner-launch)`,
      );
    return fallback;
  }
  if (!/^-?\d+$/.test(raw.trim()))
    throw new UsageError(`worker environment: ${name}='${raw}' is not an integer`);
  const value = Number(raw);
  if (value < min) throw new UsageError(`worker environment: ${name}=${raw} must be >= ${min}`);
  return value;
}

function readSeconds(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0)
    throw new UsageError(
      `worker environment: ${name}='${raw}' is not a positive number of seconds`,
    );
  return value;
}

/**
 * Reads the contract from `env` (default process.env). A process with none of RANK and
 * WORLD_SIZE set is a standalone single worker (`standaloneWorkerEnv`); a partial or
 * inconsistent set is an error naming the variable.
 */
export function fromEnv(env: NodeJS.ProcessEnv = process.env): WorkerEnv {
  const defaults = standaloneWorkerEnv();
  if (env.RANK === undefined && env.WORLD_SIZE === undefined) {
    const standalone = { ...defaults };
    if (env.NER_BACKEND) standalone.backend = env.NER_BACKEND;
    if (env.NER_MIXED_PRECISION)
      standalone.mixedPrecision = readMixedPrecision(env.NER_MIXED_PRECISION);
    return standalone;
  }
  const worldSize = readInt(env, 'WORLD_SIZE', undefined, 1);
  const rank = readInt(env, 'RANK', undefined, 0);
  if (rank >= worldSize)
    throw new UsageError(`worker environment: RANK=${rank} is not below WORLD_SIZE=${worldSize}`);
  const localWorldSize = readInt(env, 'LOCAL_WORLD_SIZE', worldSize, 1);
  const localRank = readInt(env, 'LOCAL_RANK', rank % localWorldSize, 0);
  if (localRank >= localWorldSize)
    throw new UsageError(
      `worker environment: LOCAL_RANK=${localRank} is not below LOCAL_WORLD_SIZE=${localWorldSize}`,
    );
  const masterAddr = env.MASTER_ADDR || defaults.masterAddr;
  const out: WorkerEnv = {
    rank,
    localRank,
    worldSize,
    localWorldSize,
    groupRank: readInt(env, 'GROUP_RANK', Math.floor(rank / localWorldSize), 0),
    masterAddr,
    masterPort: readInt(env, 'MASTER_PORT', defaults.masterPort, 0),
    localAddr: env.NER_LOCAL_ADDR || masterAddr,
    mixedPrecision: readMixedPrecision(env.NER_MIXED_PRECISION ?? 'no'),
    backend: env.NER_BACKEND || defaults.backend,
    restartCount: readInt(env, 'NER_RESTART_COUNT', 0, 0),
    runToken: env.NER_RUN_TOKEN ?? '',
    rdzvTimeoutS: readSeconds(env, 'NER_RDZV_TIMEOUT', defaults.rdzvTimeoutS),
    collectiveTimeoutS: readSeconds(env, 'NER_COLLECTIVE_TIMEOUT', defaults.collectiveTimeoutS),
  };
  if (out.masterPort > 65535)
    throw new UsageError(`worker environment: MASTER_PORT=${out.masterPort} is not a TCP port`);
  if (env.CUDA_VISIBLE_DEVICES !== undefined) out.cudaVisibleDevices = env.CUDA_VISIBLE_DEVICES;
  if (env.OMP_NUM_THREADS !== undefined && env.OMP_NUM_THREADS !== '')
    out.ompNumThreads = readInt(env, 'OMP_NUM_THREADS', 1, 1);
  return out;
}

function readMixedPrecision(raw: string): MixedPrecision {
  if ((MIXED_PRECISION_VALUES as readonly string[]).includes(raw)) return raw as MixedPrecision;
  throw new UsageError(
    `worker environment: NER_MIXED_PRECISION='${raw}' is not one of ${MIXED_PRECISION_VALUES.join(', ')}`,
  );
}
