/**
 * The one schema of `ner-launch`'s launch flags (accelerate launch's names, defaults and
 * validation, plus ours). It feeds the yargs options (`addLaunchOptions`), the YAML config
 * validator (config-file.ts) and argv splitting (`splitLaunchArgv`), so the three never drift.
 */
import { UsageError } from '@ner-launch/common';
import { LAUNCH_BACKENDS } from '@ner-launch/trainer/backend-names';
import {
  DEFAULT_COLLECTIVE_TIMEOUT_S,
  DEFAULT_MAIN_PROCESS_PORT,
  DEFAULT_RDZV_TIMEOUT_S,
  MIXED_PRECISION_VALUES,
} from '@ner-launch/worker';
import type { Argv } from 'yargs';

/** Help sections, in accelerate's order. */
export const LAUNCH_GROUPS = {
  hardware: 'Hardware selection:',
  resources: 'Resource selection:',
  distributed: 'Distributed (multi-process / multi-machine):',
  faults: 'Fault tolerance:',
  logging: 'Logging:',
  config: 'Configuration:',
} as const;

/** Raw flag values as given on the command line or in a config file, before defaults. */
export interface LaunchFlags {
  configFile?: string;
  cpu?: boolean;
  multiGpu?: boolean;
  mixedPrecision?: string;
  backend?: string;
  numProcesses?: number;
  gpuIds?: string;
  numMachines?: number;
  machineRank?: number;
  mainProcessIp?: string;
  mainProcessPort?: number;
  localAddr?: string;
  sameNetwork?: boolean;
  rdzvTimeout?: number;
  restartRdzvTimeout?: number;
  collectiveTimeout?: number;
  maxRestarts?: number;
  monitorInterval?: number;
  tee?: string;
  logDir?: string;
  quiet?: boolean;
  debug?: boolean;
}

/** One launch flag: its CLI name, YAML key, type, bounds, default and help. */
export interface LaunchOption {
  key: keyof LaunchFlags;
  /** accelerate's spelling; the hyphenated spelling is accepted too. */
  flag: string;
  /** Key in the YAML config file; null when the flag has no YAML form. */
  yamlKey: string | null;
  type: 'boolean' | 'number' | 'string';
  integer?: boolean;
  min?: number;
  max?: number;
  /** Strictly greater than `min` (timeouts, intervals). */
  exclusiveMin?: boolean;
  choices?: readonly string[];
  /** The default used when neither a flag nor the config file gives a value (undefined: computed). */
  default?: boolean | number | string;
  /** Help text for a computed default. */
  defaultText?: string;
  /** True: name it in the "defaults used" warning when its default applies. */
  warnDefault?: boolean;
  shortAlias?: string;
  group: string;
  describe: string;
}

/** Every launch flag. */
export const LAUNCH_OPTIONS: readonly LaunchOption[] = [
  {
    key: 'configFile',
    flag: 'config_file',
    yamlKey: null,
    type: 'string',
    defaultText:
      "ner-launch's default_config.yaml ($NER_LAUNCH_CONFIG_DIR, else ~/.cache/ner-launch), else accelerate's ($HF_HOME/accelerate, else ~/.cache/huggingface/accelerate)",
    group: LAUNCH_GROUPS.config,
    describe:
      'YAML config file (written by `ner-launch config` or `accelerate config`); flags given here win over it',
  },
  {
    key: 'cpu',
    flag: 'cpu',
    yamlKey: 'use_cpu',
    type: 'boolean',
    default: false,
    group: LAUNCH_GROUPS.hardware,
    describe: 'Train on CPU only, even when GPUs are present (hides every GPU from the workers)',
  },
  {
    key: 'multiGpu',
    flag: 'multi_gpu',
    yamlKey: null,
    type: 'boolean',
    default: false,
    group: LAUNCH_GROUPS.hardware,
    describe: 'One worker per GPU (config file: distributed_type: MULTI_GPU)',
  },
  {
    key: 'mixedPrecision',
    flag: 'mixed_precision',
    yamlKey: 'mixed_precision',
    type: 'string',
    choices: MIXED_PRECISION_VALUES,
    default: 'no',
    warnDefault: true,
    group: LAUNCH_GROUPS.hardware,
    describe: 'Mixed precision: fp16 or bf16 gradients on the wire and in compute where supported',
  },
  {
    key: 'backend',
    flag: 'backend',
    yamlKey: 'backend',
    type: 'string',
    choices: LAUNCH_BACKENDS,
    default: 'auto',
    warnDefault: true,
    group: LAUNCH_GROUPS.hardware,
    describe:
      'Backend of the workers: wasm, tensorflow or cpu (tfjs), or cuda (the CUDA engine, NVIDIA GPUs); auto = tensorflow when set up (`ner-launch setup tensorflow`), else wasm',
  },
  {
    key: 'numProcesses',
    flag: 'num_processes',
    yamlKey: 'num_processes',
    type: 'number',
    integer: true,
    min: 1,
    defaultText: '1, or with --multi_gpu the number of GPUs in --gpu_ids × num_machines',
    warnDefault: true,
    group: LAUNCH_GROUPS.resources,
    describe: 'Total number of worker processes over all machines',
  },
  {
    key: 'gpuIds',
    flag: 'gpu_ids',
    yamlKey: 'gpu_ids',
    type: 'string',
    default: 'all',
    group: LAUNCH_GROUPS.resources,
    describe:
      "GPUs of this machine to use, 'all' or a list like 0,2; worker i gets gpu_ids[i] as CUDA_VISIBLE_DEVICES",
  },
  {
    key: 'numMachines',
    flag: 'num_machines',
    yamlKey: 'num_machines',
    type: 'number',
    integer: true,
    min: 1,
    default: 1,
    warnDefault: true,
    group: LAUNCH_GROUPS.distributed,
    describe: 'Number of machines (one launcher runs on each)',
  },
  {
    key: 'machineRank',
    flag: 'machine_rank',
    yamlKey: 'machine_rank',
    type: 'number',
    integer: true,
    min: 0,
    default: 0,
    group: LAUNCH_GROUPS.distributed,
    describe: 'Rank of this machine, 0..num_machines-1; machine 0 hosts the rendezvous',
  },
  {
    key: 'mainProcessIp',
    flag: 'main_process_ip',
    yamlKey: 'main_process_ip',
    type: 'string',
    defaultText: '127.0.0.1 on a single machine; required with several machines',
    group: LAUNCH_GROUPS.distributed,
    describe: 'Address of machine 0, where global rank 0 hosts the rendezvous',
  },
  {
    key: 'mainProcessPort',
    flag: 'main_process_port',
    yamlKey: 'main_process_port',
    type: 'number',
    integer: true,
    min: 0,
    max: 65535,
    default: DEFAULT_MAIN_PROCESS_PORT,
    group: LAUNCH_GROUPS.distributed,
    describe: 'Rendezvous port on the main process; 0 picks a free port (single machine only)',
  },
  {
    key: 'localAddr',
    flag: 'local_addr',
    yamlKey: 'local_addr',
    type: 'string',
    defaultText: 'main_process_ip on machine 0, else the local address that routes to it',
    group: LAUNCH_GROUPS.distributed,
    describe: "Address this machine's workers listen on and advertise to their peers",
  },
  {
    key: 'sameNetwork',
    flag: 'same_network',
    yamlKey: 'same_network',
    type: 'boolean',
    default: false,
    group: LAUNCH_GROUPS.distributed,
    describe: 'All machines are on the same local network (recorded in the config; informational)',
  },
  {
    key: 'rdzvTimeout',
    flag: 'rdzv_timeout',
    yamlKey: 'rdzv_timeout',
    type: 'number',
    min: 0,
    exclusiveMin: true,
    default: DEFAULT_RDZV_TIMEOUT_S,
    group: LAUNCH_GROUPS.distributed,
    describe:
      'Seconds to wait for every worker to join the rendezvous before failing, naming the missing ranks',
  },
  {
    key: 'restartRdzvTimeout',
    flag: 'restart_rdzv_timeout',
    yamlKey: 'restart_rdzv_timeout',
    type: 'number',
    min: 0,
    exclusiveMin: true,
    default: 120,
    group: LAUNCH_GROUPS.distributed,
    describe:
      'With several machines, the rendezvous timeout of a restarted group (at most --rdzv_timeout): a restart that cannot reach every machine fails after it, naming the missing ranks, instead of waiting the full --rdzv_timeout',
  },
  {
    key: 'collectiveTimeout',
    flag: 'collective_timeout',
    yamlKey: 'collective_timeout',
    type: 'number',
    min: 0,
    exclusiveMin: true,
    default: DEFAULT_COLLECTIVE_TIMEOUT_S,
    group: LAUNCH_GROUPS.distributed,
    describe:
      'Seconds one collective (all-reduce, barrier, ...) may take before it fails, naming the peer',
  },
  {
    key: 'maxRestarts',
    flag: 'max_restarts',
    yamlKey: 'max_restarts',
    type: 'number',
    integer: true,
    min: 0,
    default: 0,
    group: LAUNCH_GROUPS.faults,
    describe:
      'Restart the whole worker group up to N times after a failure (NER_RESTART_COUNT increments; train resumes from its latest checkpoint)',
  },
  {
    key: 'monitorInterval',
    flag: 'monitor_interval',
    yamlKey: 'monitor_interval',
    type: 'number',
    min: 0,
    exclusiveMin: true,
    default: 0.1,
    group: LAUNCH_GROUPS.faults,
    describe: 'Seconds between checks of the workers',
  },
  {
    key: 'tee',
    flag: 'tee',
    yamlKey: 'tee',
    type: 'string',
    choices: ['0', '1', '2', '3'],
    default: '0',
    group: LAUNCH_GROUPS.logging,
    describe:
      'With --log_dir, also show worker output on the console: 1 stdout, 2 stderr, 3 both (a bare --tee means 3)',
  },
  {
    key: 'logDir',
    flag: 'log_dir',
    yamlKey: 'log_dir',
    type: 'string',
    group: LAUNCH_GROUPS.logging,
    describe:
      "Write each worker's stdout/stderr to LOG_DIR/attempt_K/rank_N/{stdout,stderr}.log instead of the console",
  },
  {
    key: 'quiet',
    flag: 'quiet',
    yamlKey: 'quiet',
    type: 'boolean',
    default: false,
    shortAlias: 'q',
    group: LAUNCH_GROUPS.logging,
    describe: "Silence the launcher's own messages (the failure summary is still printed)",
  },
  {
    key: 'debug',
    flag: 'debug',
    yamlKey: 'debug',
    type: 'boolean',
    default: false,
    group: LAUNCH_GROUPS.logging,
    describe: 'Debug logging in the launcher and the workers (NER_LOG_LEVEL=debug)',
  },
];

/** The launch flag stored under `key`. */
export function launchOption(key: keyof LaunchFlags): LaunchOption {
  return LAUNCH_OPTIONS.find((o) => o.key === key)!;
}

/** The hyphenated spelling of an accelerate flag name. */
export function hyphenated(flag: string): string {
  return flag.replaceAll('_', '-');
}

/** Adds every launch flag to a yargs instance, grouped for `-h`, with no yargs defaults (so precedence can tell "given" from "default"). */
export function addLaunchOptions<T>(y: Argv<T>): Argv<T> {
  let out = y;
  for (const option of LAUNCH_OPTIONS) {
    const aliases = [hyphenated(option.flag), option.shortAlias].filter(
      (a): a is string => a !== undefined && a !== option.flag,
    );
    const defaultDescription =
      option.defaultText ?? (option.default === undefined ? undefined : String(option.default));
    out = out.option(option.flag, {
      type: option.type,
      alias: aliases,
      group: option.group,
      describe: option.describe,
      ...(option.choices && option.key !== 'tee' ? { choices: option.choices } : {}),
      ...(defaultDescription === undefined ? {} : { defaultDescription }),
    }) as Argv<T>;
  }
  return out;
}

function describeValue(value: unknown): string {
  return typeof value === 'string' ? `'${value}'` : JSON.stringify(value);
}

/**
 * Checks one value against its option (type, integer, bounds, choices) and returns it
 * normalised; `where` names the flag or file key in the error.
 */
export function checkOptionValue(
  option: LaunchOption,
  value: unknown,
  where: string,
): boolean | number | string {
  const expected =
    option.type === 'number'
      ? `${option.integer ? 'an integer' : 'a number'}${boundsText(option)}`
      : option.choices
        ? `one of ${option.choices.join(', ')}`
        : option.type === 'boolean'
          ? 'true or false'
          : 'a string';
  let normalised: unknown = value;
  if (option.type === 'string' && typeof value === 'number') normalised = String(value);
  if (option.key === 'tee') {
    if (value === true || value === '') normalised = '3';
    if (value === false) normalised = '0';
  }
  if (option.key === 'gpuIds' && Array.isArray(value) && value.every((v) => Number.isInteger(v)))
    normalised = value.join(',');
  const ok =
    option.type === 'number'
      ? typeof normalised === 'number' &&
        Number.isFinite(normalised) &&
        (!option.integer || Number.isInteger(normalised)) &&
        (option.min === undefined ||
          (option.exclusiveMin ? normalised > option.min : normalised >= option.min)) &&
        (option.max === undefined || normalised <= option.max)
      : option.type === 'boolean'
        ? typeof normalised === 'boolean'
        : typeof normalised === 'string' &&
          (!option.choices || option.choices.includes(normalised));
  if (!ok) throw new UsageError(`${where}: expected ${expected}, got ${describeValue(value)}`);
  return normalised as boolean | number | string;
}

function boundsText(option: LaunchOption): string {
  const parts: string[] = [];
  if (option.min !== undefined) parts.push(`${option.exclusiveMin ? '>' : '>='} ${option.min}`);
  if (option.max !== undefined) parts.push(`<= ${option.max}`);
  return parts.length ? ` ${parts.join(' and ')}` : '';
}

/** Picks the launch flags out of a yargs argv, validated; only flags actually given appear. */
export function flagsFromArgv(argv: Record<string, unknown>): LaunchFlags {
  const flags: Record<string, unknown> = {};
  for (const option of LAUNCH_OPTIONS) {
    const value = argv[option.flag];
    if (value === undefined) continue;
    if (Array.isArray(value))
      throw new UsageError(`--${option.flag} was given ${value.length} times; give it once`);
    flags[option.key] = checkOptionValue(option, value, `--${option.flag}`);
  }
  return flags as LaunchFlags;
}

const OPTION_BY_SPELLING: ReadonlyMap<string, LaunchOption> = new Map(
  LAUNCH_OPTIONS.flatMap((o) => {
    const names = [o.flag, hyphenated(o.flag)];
    if (o.shortAlias) names.push(o.shortAlias);
    return names.map((n) => [n, o] as const);
  }),
);

/** Launch argv split at the target: flags before it, the target, and the target's own args untouched. */
export interface SplitArgv {
  launchArgs: string[];
  target?: string;
  targetArgs: string[];
}

/**
 * Splits argv at the first positional word (the target: `train`, a script path or a command),
 * knowing which launch flags take a value, so that nothing after the target is parsed here.
 * Unknown flags before the target stay in launchArgs for yargs to reject by name.
 */
export function splitLaunchArgv(argv: readonly string[]): SplitArgv {
  const launchArgs: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      return { launchArgs, target: argv[i + 1], targetArgs: argv.slice(i + 2) };
    }
    if (!arg.startsWith('-') || arg === '-') {
      return { launchArgs, target: arg, targetArgs: argv.slice(i + 1) };
    }
    launchArgs.push(arg);
    if (arg.includes('=')) continue;
    const name = arg.replace(/^--?/, '').replace(/^no-/, '');
    const option = OPTION_BY_SPELLING.get(name);
    const next = argv[i + 1];
    if (!option || next === undefined) continue;
    const takesValue =
      option.type !== 'boolean' &&
      !(option.key === 'tee' && !/^[0-3]$/.test(next)) &&
      !arg.startsWith('--no-');
    const booleanValue = option.type === 'boolean' && (next === 'true' || next === 'false');
    if (takesValue || booleanValue) launchArgs.push(argv[++i]);
  }
  return { launchArgs, targetArgs: [] };
}
