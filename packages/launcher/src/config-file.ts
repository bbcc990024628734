/**
 * The launcher's YAML config file, in accelerate's keys (its default_config.yaml, our keys
 * added): where it lives, reading it against the launch-flag schema and accelerate's key set,
 * and writing one that accelerate reads too.
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic, UsageError } from '@ner-launch/common';
import { parseYamlLinear, readYamlConfigText } from '@ner-launch/trainer/yaml-file';
import { isMap, isNode, isScalar, stringify, visit } from 'yaml';
import {
  ACCELERATE_ONLY_KEYS,
  DISTRIBUTED_TYPES,
  REFUSED_DISTRIBUTED_TYPES,
} from './accelerate-config-keys.js';
import { LAUNCH_OPTIONS, checkOptionValue, type LaunchFlags } from './launch-options.js';

export { DISTRIBUTED_TYPES } from './accelerate-config-keys.js';

/** The directory of the default config: $NER_LAUNCH_CONFIG_DIR, else ~/.cache/ner-launch. */
export function configDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.NER_LAUNCH_CONFIG_DIR) return env.NER_LAUNCH_CONFIG_DIR;
  const cache = env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(cache, 'ner-launch');
}

/** Path of ner-launch's own default config (read first when no --config_file is given). */
export function defaultConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(configDir(env), 'default_config.yaml');
}

/**
 * Path of accelerate's default config, as accelerate finds it: $HF_HOME/accelerate, else
 * $XDG_CACHE_HOME/huggingface/accelerate, else ~/.cache/huggingface/accelerate.
 */
export function accelerateConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  const hfHome =
    env.HF_HOME || join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'huggingface');
  return join(hfHome, 'accelerate', 'default_config.yaml');
}

/** Launch flags read from a config file, plus what to tell the user about it. */
export interface ConfigFileValues {
  path: string;
  flags: LaunchFlags;
  /** Settings the file asks for that ner-launch ignores. */
  warnings: string[];
  /** Info lines (where the file came from). */
  notes: string[];
}

/** One top-level key of the file, with its value and 1-based line. */
interface Entry {
  key: string;
  value: unknown;
  line: number;
}

function lineAt(text: string, offset: number): number {
  return text.slice(0, offset).split('\n').length;
}

/** Shows a value in an error: strings quoted, sections as JSON cut to a readable length. */
function show(value: unknown): string {
  const text = typeof value === 'string' ? `'${value}'` : JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** Parses the YAML safely (no duplicate keys, no tags, plain keys only) into top-level entries. */
function readEntries(text: string, path: string): Entry[] {
  // Duplicate keys are checked in linear time (yaml's own uniqueKeys check is quadratic).
  const { doc, problem } = parseYamlLinear(text);
  if (problem)
    throw new UsageError(
      `${path}${problem.line ? `:${problem.line}` : ''}: not valid YAML: ${problem.message.replace(/ at line \d+, column \d+:?$/, '')}`,
    );
  // accelerate's files are plain data (pyyaml safe_dump); a tag could only smuggle in a type.
  visit(doc, (_, node) => {
    if (isNode(node) && node.tag !== undefined) {
      const line = node.range ? `:${lineAt(text, node.range[0])}` : '';
      throw new UsageError(
        `${path}${line}: YAML tag ${node.tag} is not accepted in a config file; write the plain value`,
      );
    }
  });
  if (doc.contents === null) return [];
  if (!isMap(doc.contents)) {
    const data: unknown = doc.toJS();
    throw new UsageError(
      `${path}: expected a mapping of config keys, got ${Array.isArray(data) ? 'a list' : typeof data}`,
    );
  }
  const entries: Entry[] = [];
  for (const pair of doc.contents.items) {
    const line = isNode(pair.key) && pair.key.range ? lineAt(text, pair.key.range[0]) : 0;
    if (!isScalar(pair.key) || typeof pair.key.value === 'object')
      throw new UsageError(`${path}:${line}: config keys must be plain names`);
    const value: unknown = isNode(pair.value) ? pair.value.toJS(doc) : pair.value;
    entries.push({ key: String(pair.key.value), value, line });
  }
  return entries;
}

const FLAG_KEYS: ReadonlyMap<string, (typeof LAUNCH_OPTIONS)[number]> = new Map(
  LAUNCH_OPTIONS.filter((o) => o.yamlKey !== null).map((o) => [o.yamlKey!, o]),
);

/** Keys read here beyond the launch flags: accelerate's that steer the launch itself. */
const LAUNCH_KEYS = ['compute_environment', 'distributed_type', 'fp16'];

function isKnownKey(key: string): boolean {
  return LAUNCH_KEYS.includes(key) || FLAG_KEYS.has(key) || ACCELERATE_ONLY_KEYS.has(key);
}

function refusal(where: string, value: unknown, asksFor: string, instead: string): Error {
  return new UsageError(
    `${where}: ${show(value)} asks for ${asksFor}, which ner-launch does not do; ${instead}`,
  );
}

/** Refuses compute environments other than a local machine (SageMaker files have keys of their own). */
function checkComputeEnvironment(entries: readonly Entry[], path: string): void {
  const entry = entries.find((e) => e.key === 'compute_environment');
  if (!entry || entry.value === null || entry.value === 'LOCAL_MACHINE') return;
  const where = `${path}:${entry.line}: compute_environment`;
  if (entry.value === 'AMAZON_SAGEMAKER')
    throw refusal(
      where,
      entry.value,
      'an Amazon SageMaker job',
      'use LOCAL_MACHINE and run ner-launch on each machine',
    );
  throw new UsageError(`${where}: expected LOCAL_MACHINE, got ${show(entry.value)}`);
}

/** Lists every unknown key at once, with its line, as accelerate does. */
function checkUnknownKeys(entries: readonly Entry[], path: string): void {
  const unknown = entries.filter((e) => !isKnownKey(e.key));
  if (unknown.length === 0) return;
  const known = [...LAUNCH_KEYS.slice(0, 2), ...FLAG_KEYS.keys()].join(', ');
  if (unknown.length === 1) {
    const { key, line } = unknown[0];
    throw new UsageError(
      `${path}:${line}: ${key}: unknown key: neither accelerate nor ner-launch has it; fix or remove it (keys that take effect: ${known})`,
    );
  }
  throw new UsageError(
    `${path}:${unknown[0].line}: unknown keys ${unknown
      .map((e) => `${e.key} (line ${e.line})`)
      .join(', ')}: neither accelerate nor ner-launch has them; ` +
      `fix or remove them (keys that take effect: ${known})`,
  );
}

/** Parses and validates YAML config text; every error names `path`, the line and the key. */
export function parseConfigText(text: string, path: string): ConfigFileValues {
  const entries = readEntries(text, path);
  checkComputeEnvironment(entries, path);
  checkUnknownKeys(entries, path);
  const flags: Record<string, unknown> = {};
  const warnings: string[] = [];
  let distributedType: string | undefined;
  for (const { key, value, line } of entries) {
    const where = `${path}:${line}: ${key}`;
    const onlyAccelerate = ACCELERATE_ONLY_KEYS.get(key);
    if (onlyAccelerate) {
      const verdict = onlyAccelerate(value);
      if (verdict.action === 'refuse')
        throw refusal(where, value, verdict.asksFor, verdict.instead);
      if (verdict.action === 'warn')
        warnings.push(`${where}: ${show(value)} ignored: ${verdict.why}`);
      continue;
    }
    if (value === null) continue; // an empty value means "not set", as accelerate writes it
    if (key === 'compute_environment') continue; // checked above
    if (key === 'distributed_type') {
      const refused = REFUSED_DISTRIBUTED_TYPES.get(value as string);
      if (refused) throw refusal(where, value, refused.asksFor, refused.instead);
      if (!DISTRIBUTED_TYPES.includes(value as never))
        throw new UsageError(
          `${where}: expected one of ${DISTRIBUTED_TYPES.join(', ')}, got ${show(value)}`,
        );
      distributedType = value as string;
      continue;
    }
    if (key === 'fp16') {
      // accelerate before 0.6: `fp16: true` meant mixed_precision fp16, unless that key is set.
      if (typeof value !== 'boolean')
        throw new UsageError(`${where}: expected true or false, got ${show(value)}`);
      if (value && !entries.some((e) => e.key === 'mixed_precision')) flags.mixedPrecision = 'fp16';
      continue;
    }
    if (key === 'mixed_precision' && value === 'fp8')
      throw refusal(where, value, 'fp8 training', 'use bf16 or fp16');
    const option = FLAG_KEYS.get(key)!;
    flags[option.key] = checkOptionValue(option, value, where);
  }
  if (distributedType === 'MULTI_GPU') {
    if (flags.cpu === true)
      throw new UsageError(`${path}: distributed_type MULTI_GPU contradicts use_cpu: true`);
    flags.multiGpu = true;
  } else if (distributedType === 'MULTI_CPU') {
    flags.cpu = true;
  } else if (
    distributedType === 'NO' &&
    typeof flags.numProcesses === 'number' &&
    flags.numProcesses > 1
  ) {
    throw new UsageError(
      `${path}: distributed_type NO runs one process, but num_processes is ${flags.numProcesses} (use MULTI_CPU or MULTI_GPU)`,
    );
  }
  return { path, flags: flags as LaunchFlags, warnings, notes: [] };
}

/** Reads a config file; a missing or invalid file is an error naming it. */
export function readConfigFile(path: string): ConfigFileValues {
  let text: string;
  try {
    text = readYamlConfigText(path);
  } catch (error) {
    throw new UsageError(`config file ${path} cannot be read: ${(error as Error).message}`, {
      cause: error,
    });
  }
  return parseConfigText(text, path);
}

/** Which config file a launch reads, and why that one. */
export interface ConfigFileLocation {
  /** The file to read; undefined when there is none. */
  path?: string;
  /** --config_file, ner-launch's default file, accelerate's default file, or none of them. */
  origin: 'flag' | 'ner-launch' | 'accelerate' | 'none';
}

/** --config_file if given, else ner-launch's default file, else accelerate's, if they exist. */
export function locateConfigFile(
  configFile: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): ConfigFileLocation {
  if (configFile !== undefined) return { path: configFile, origin: 'flag' };
  const ours = defaultConfigPath(env);
  if (existsSync(ours)) return { path: ours, origin: 'ner-launch' };
  const accelerates = accelerateConfigPath(env);
  if (existsSync(accelerates)) return { path: accelerates, origin: 'accelerate' };
  return { origin: 'none' };
}

/** One line saying which config file is used and why (for the log and `ner-launch env`). */
export function describeConfigLocation(
  location: ConfigFileLocation,
  env: NodeJS.ProcessEnv = process.env,
): string {
  switch (location.origin) {
    case 'flag':
      return `${location.path} (--config_file)`;
    case 'ner-launch':
      return `${location.path} (ner-launch's default)`;
    case 'accelerate':
      return `${location.path} (accelerate's default; ${defaultConfigPath(env)} does not exist)`;
    case 'none':
      return `none (neither ${defaultConfigPath(env)} nor accelerate's ${accelerateConfigPath(env)} exists)`;
  }
}

/** Reads the config file a launch uses (see locateConfigFile), or nothing when there is none. */
export function loadLaunchConfigFile(
  configFile: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): ConfigFileValues | undefined {
  const location = locateConfigFile(configFile, env);
  if (location.path === undefined) return undefined;
  if (location.origin !== 'accelerate') return readConfigFile(location.path);
  try {
    const values = readConfigFile(location.path);
    values.notes.push(`launch config: ${describeConfigLocation(location, env)}`);
    return values;
  } catch (error) {
    // The user may not know this file is read at all: say why it was.
    throw new UsageError(
      `${(error as Error).message} (accelerate's default config, read because no --config_file was given and ${defaultConfigPath(env)} does not exist; pass --config_file, or run \`ner-launch config\`)`,
      { cause: error },
    );
  }
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

/** ner-launch's own keys and the values that equal leaving them out. */
const OWN_KEY_DEFAULTS = { backend: 'auto', max_restarts: 0 } as const;

/** The keys of `settings` that only ner-launch knows (accelerate refuses a file holding them). */
export function nerLaunchOnlyKeys(settings: ConfigFileSettings): string[] {
  const keys: string[] = [];
  if (settings.backend !== OWN_KEY_DEFAULTS.backend) keys.push('backend');
  if (settings.maxRestarts !== OWN_KEY_DEFAULTS.max_restarts) keys.push('max_restarts');
  return keys;
}

/**
 * Renders settings as YAML that parseConfigText accepts and, unless it holds ner-launch's own
 * keys, accelerate's load_config_from_file too: accelerate's key names, and its spellings as
 * pyyaml's safe_dump writes them (sorted keys, YAML 1.1 quoting, so 'no' stays a string).
 */
export function renderConfigFile(settings: ConfigFileSettings): string {
  const keys: Record<string, unknown> = {
    compute_environment: 'LOCAL_MACHINE',
    debug: false,
    distributed_type: settings.distributedType,
    machine_rank: settings.machineRank,
    mixed_precision: settings.mixedPrecision,
    num_machines: settings.numMachines,
    num_processes: settings.numProcesses,
    same_network: settings.sameNetwork,
    use_cpu: settings.useCpu,
  };
  if (!settings.useCpu) keys.gpu_ids = settings.gpuIds;
  // As `accelerate config`: the rendezvous address only matters with several machines.
  if (settings.numMachines > 1) {
    keys.main_process_ip = settings.mainProcessIp ?? null;
    keys.main_process_port = settings.mainProcessPort;
  }
  const own = nerLaunchOnlyKeys(settings);
  if (own.includes('backend')) keys.backend = settings.backend;
  if (own.includes('max_restarts')) keys.max_restarts = settings.maxRestarts;
  const header =
    own.length === 0
      ? "# ner-launch config in accelerate's keys: `accelerate launch --config_file` reads it too.\n"
      : `# ner-launch config in accelerate's keys, plus ner-launch's ${own.join(', ')}, which\n# accelerate refuses: give ${own.length > 1 ? 'them as flags' : 'it as a flag'} instead to share this file with accelerate.\n`;
  return header + stringify(keys, { version: '1.1', singleQuote: true, sortMapEntries: true });
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
