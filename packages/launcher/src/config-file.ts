/**
 * The launcher's YAML config file (accelerate's default_config.yaml, our keys added): where it
 * lives, reading it against the launch-flag schema, and writing one.
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from '@ner-launch/worker';
import { parseYamlLinear, readYamlConfigText } from '@ner-launch/trainer/yaml-file';
import { isMap, isScalar, stringify, type Document } from 'yaml';
import { LAUNCH_OPTIONS, checkOptionValue, type LaunchFlags } from './launch-options.js';

/** Values of accelerate's distributed_type that ner-launch supports. */
export const DISTRIBUTED_TYPES = ['NO', 'MULTI_GPU', 'MULTI_CPU'] as const;
/** accelerate's compute_environment values that apply here. */
export const COMPUTE_ENVIRONMENTS = ['LOCAL_MACHINE'] as const;

/**
 * Keys accelerate writes that have no meaning for ner-launch: accepted with a warning so an
 * accelerate config can be reused, rather than rejected.
 */
export const IGNORED_ACCELERATE_KEYS: readonly string[] = [
  'downcast_bf16',
  'main_training_function',
  'rdzv_backend',
  'enable_cpu_affinity',
  'tpu_env',
  'tpu_use_cluster',
  'tpu_use_sudo',
  'dynamo_config',
  'num_cpu_threads_per_process',
];

/** The directory of the default config: $NER_LAUNCH_CONFIG_DIR, else ~/.cache/ner-launch. */
export function configDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.NER_LAUNCH_CONFIG_DIR) return env.NER_LAUNCH_CONFIG_DIR;
  const cache = env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(cache, 'ner-launch');
}

/** Path of the config read when no --config_file is given. */
export function defaultConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(configDir(env), 'default_config.yaml');
}

/** Launch flags read from a config file, plus the warnings met while reading it. */
export interface ConfigFileValues {
  path: string;
  flags: LaunchFlags;
  warnings: string[];
}

function lineOf(doc: Document, text: string, key: string): string {
  if (!isMap(doc.contents)) return '';
  for (const pair of doc.contents.items) {
    if (isScalar(pair.key) && pair.key.value === key && pair.key.range) {
      const line = text.slice(0, pair.key.range[0]).split('\n').length;
      return `:${line}`;
    }
  }
  return '';
}

/** Parses and validates YAML config text; every error names `path`, the line and the key. */
export function parseConfigText(text: string, path: string): ConfigFileValues {
  const { doc, problem } = parseYamlLinear(text);
  if (problem)
    throw new Error(
      `${path}${problem.line ? `:${problem.line}` : ''}: not valid YAML: ${problem.message}`,
    );
  const data: unknown = doc.toJS();
  if (data === null || data === undefined) return { path, flags: {}, warnings: [] };
  if (typeof data !== 'object' || Array.isArray(data))
    throw new Error(
      `${path}: expected a mapping of config keys, got ${Array.isArray(data) ? 'a list' : typeof data}`,
    );
  const flags: Record<string, unknown> = {};
  const warnings: string[] = [];
  let distributedType: string | undefined;
  for (const [key, value] of Object.entries(data as Record<string, unknown>)) {
    const where = `${path}${lineOf(doc, text, key)}: ${key}`;
    if (value === null) continue; // an empty value means "not set", as accelerate writes it
    if (key === 'compute_environment') {
      if (!COMPUTE_ENVIRONMENTS.includes(value as never))
        throw new Error(
          `${where}: expected one of ${COMPUTE_ENVIRONMENTS.join(', ')}, got ${JSON.stringify(value)}`,
        );
      continue;
    }
    if (key === 'distributed_type') {
      if (!DISTRIBUTED_TYPES.includes(value as never))
        throw new Error(
          `${where}: expected one of ${DISTRIBUTED_TYPES.join(', ')}, got ${JSON.stringify(value)}`,
        );
      distributedType = value as string;
      continue;
    }
    if (IGNORED_ACCELERATE_KEYS.includes(key)) {
      warnings.push(`${where}: accelerate key ignored by ner-launch`);
      continue;
    }
    const option = LAUNCH_OPTIONS.find((o) => o.yamlKey === key);
    if (!option)
      throw new Error(
        `${where}: unknown key (known keys: compute_environment, distributed_type, ${LAUNCH_OPTIONS.filter(
          (o) => o.yamlKey,
        )
          .map((o) => o.yamlKey)
          .join(', ')})`,
      );
    flags[option.key] = checkOptionValue(option, value, where);
  }
  if (distributedType === 'MULTI_GPU') {
    if (flags.cpu === true)
      throw new Error(`${path}: distributed_type MULTI_GPU contradicts use_cpu: true`);
    flags.multiGpu = true;
  } else if (distributedType === 'MULTI_CPU') {
    flags.cpu = true;
  } else if (
    distributedType === 'NO' &&
    typeof flags.numProcesses === 'number' &&
    flags.numProcesses > 1
  ) {
    throw new Error(
      `${path}: distributed_type NO runs one process, but num_processes is ${flags.numProcesses} (use MULTI_CPU or MULTI_GPU)`,
    );
  }
  return { path, flags: flags as LaunchFlags, warnings };
}

/** Reads a config file; a missing or invalid file is an error naming it. */
export function readConfigFile(path: string): ConfigFileValues {
  let text: string;
  try {
    text = readYamlConfigText(path);
  } catch (error) {
    throw new Error(`config file ${path} cannot be read: ${(error as Error).message}`, {
      cause: error,
    });
  }
  return parseConfigText(text, path);
}

/** The --config_file if given, else the default config if it exists, else nothing. */
export function loadLaunchConfigFile(
  configFile: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): ConfigFileValues | undefined {
  if (configFile !== undefined) return readConfigFile(configFile);
  const fallback = defaultConfigPath(env);
  return existsSync(fallback) ? readConfigFile(fallback) : undefined;
}

/** The settings a config file records (accelerate's keys where they apply, then ours). */
export interface ConfigFileSettings {
  distributedType: (typeof DISTRIBUTED_TYPES)[number];
  mixedPrecision: string;
  useCpu: boolean;
  numProcesses: number;
  numMachines: number;
  machineRank: number;
  gpuIds: string;
  mainProcessIp?: string;
  mainProcessPort: number;
  sameNetwork: boolean;
  backend: string;
  maxRestarts: number;
}

/** Renders settings as a commented YAML config that parseConfigText accepts. */
export function renderConfigFile(settings: ConfigFileSettings): string {
  const body = stringify({
    compute_environment: 'LOCAL_MACHINE',
    distributed_type: settings.distributedType,
    mixed_precision: settings.mixedPrecision,
    use_cpu: settings.useCpu,
    num_processes: settings.numProcesses,
    num_machines: settings.numMachines,
    machine_rank: settings.machineRank,
    gpu_ids: settings.gpuIds,
    main_process_ip: settings.mainProcessIp ?? null,
    main_process_port: settings.mainProcessPort,
    same_network: settings.sameNetwork,
    backend: settings.backend,
    max_restarts: settings.maxRestarts,
  });
  return `# ner-launch config (keys as accelerate's default_config.yaml; see ner-launch -h)\n${body}`;
}

/** Writes a config file atomically; refuses to overwrite unless `overwrite`. Returns false when it left an existing file alone. */
export async function writeConfigFile(
  path: string,
  settings: ConfigFileSettings,
  overwrite: boolean,
): Promise<boolean> {
  if (!overwrite && existsSync(path)) return false;
  await writeFileAtomic(path, renderConfigFile(settings));
  return true;
}
