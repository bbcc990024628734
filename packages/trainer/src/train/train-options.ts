/**
 * The `train` flags: one schema feeds yargs (`ner-launch train -h`) and the YAML file given
 * with `--config`. Names and defaults follow the reference trainer (DALAI-project's
 * `train_bert_ner.py`, an HF Transformers + Accelerate script); kebab-case spellings are
 * aliases. Precedence: command-line flag > `--config` YAML > `NER_BACKEND` (backend only) >
 * default. Relative paths resolve against the working directory, as on the command line.
 */
import { access, constants, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LAUNCH_BACKENDS, type LaunchBackend } from '../backends/names.js';
import { makeDirectories, UsageError } from '@ner-launch/common';
import { DataError } from '../data/data-error.js';
import { parseYamlLinear, readYamlConfigText } from './yaml-file.js';

/** Learning-rate schedule kinds (`--scheduler`). */
export type SchedulerKind = 'linear' | 'exponential' | 'none';
/** `--backend`: a tfjs backend or the cuda engine; `auto` picks tensorflow when set up, else wasm. */
export type TrainBackend = LaunchBackend;

/** Every train setting, resolved and validated. Property names are the flag names. */
export interface TrainOptions {
  /** Folder with train.csv, val.csv, test.csv. Default `./data/`. */
  data_path: string;
  /** Where the best model, metrics and plots go. Default `./checkpoint/`. */
  save_model_path: string;
  /** Write into a save_model_path holding files this trainer did not write (HF's name). Default false. */
  overwrite_output_dir: boolean;
  /** Longest tokenized sentence, in word pieces incl. [CLS]/[SEP]. Default 512. */
  max_len: number;
  /** Peak learning rate. Default 0.0002. */
  learning_rate: number;
  /** Per-epoch decay of the exponential schedule. Default 0.8. */
  gamma: number;
  /** Default 10. */
  epochs: number;
  /** Sentences per batch per process (as Accelerate). Default 16. */
  batch_size: number;
  /** Data-loading concurrency. Default 4. */
  num_workers: number;
  /** Epochs without validation-F1 improvement (times k) before stopping. Default 2. */
  patience: number;
  /** N>0: embeddings + first N encoder layers frozen; -1: embeddings only; 0: none. */
  freeze_layers: number;
  /** BERT parameters at learning_rate/10, classifier at learning_rate. Default false. */
  double_lr: boolean;
  /** Overrides the classifier head's dropout; undefined keeps the model config's. */
  classifier_dropout?: number;
  /** Validations per epoch (k). Default 1. */
  num_validate_during_training: number;
  /** true = linear schedule, false = exponential (the reference's older switch). */
  linear_scheduler: boolean;
  /** When val.csv/test.csv are absent: fraction of train.csv carved out for each. */
  val_test_size?: number;
  /** Local directory or HF hub id. Default `TurkuNLP/bert-base-finnish-cased-v1`. */
  model_name_or_path: string;
  /** AdamW decoupled weight decay. Default 0.01. */
  wd: number;
  /** Exclude biases and LayerNorm weights from weight decay (HF Trainer's rule). Default false. */
  wd_exclude_bias_layernorm: boolean;
  /** Default linear. */
  scheduler: SchedulerKind;
  /** Seed for initialisation, shuffling and splits. Default 42. */
  seed: number;
  /** Linear warmup steps; undefined = round(optimizer steps per epoch / 5), as the reference. */
  warmup_steps?: number;
  /** Global gradient-norm clip, applied every optimizer step. Default 1.0. */
  max_grad_norm: number;
  /** Batches summed per optimizer step. Default 1. */
  gradient_accumulation_steps: number;
  /** Training-state checkpoint directory to resume from, or `latest` (in save_model_path). */
  resume_from_checkpoint?: string;
  /** Also write a training-state checkpoint every N optimizer steps (epoch ends always). */
  save_steps?: number;
  /** Training-state checkpoints kept (oldest removed first). Default 2. */
  save_total_limit: number;
  /** Later word pieces of a word get its label (B- turned I-); false gives them -100. Default true. */
  label_all_subtokens: boolean;
  /** Label set (O first); undefined = from the training data. */
  labels?: string[];
  /** tfjs backend. Default auto (or the launcher's NER_BACKEND). */
  backend: TrainBackend;
  /** cuda engine: where CUDA's libraries are; undefined = CUDA_HOME, LD_LIBRARY_PATH, the system, Python wheels. */
  cuda_home?: string;
  /** cuda engine: let float32 matmuls use TF32 tensor cores (torch's allow_tf32). Default false. */
  tf32: boolean;
  /** Threads of each worker's math library (tensorflow); undefined = CPU cores / local processes. */
  num_threads?: number;
  /** Tensor memory per process the memory plan may use, in MiB; undefined = the backend's limit. */
  memory_limit_mb?: number;
  /** Sentences per forward + backward; undefined = the memory plan chooses. */
  micro_batch_size?: number;
  /** Per-layer activation recomputation: auto (when the plan needs it), on or off. */
  recompute: 'auto' | 'on' | 'off';
  /** The YAML file the options were read from, if any. */
  config?: string;
}

type Kind = 'string' | 'number' | 'integer' | 'boolean' | 'list';

interface FlagSpec {
  kind: Kind;
  describe: string;
  /** Default shown in help and used when neither the command line nor YAML sets it. */
  default?: string | number | boolean;
  choices?: readonly string[];
  /** Returns a problem ("must be ...") or undefined when the value is in range. */
  check?: (value: never) => string | undefined;
  group: string;
}

const GROUP_DATA = 'Data:';
const GROUP_OPT = 'Optimisation:';
const GROUP_LOOP = 'Training loop:';
const GROUP_MODEL = 'Model and output:';
const GROUP_MEMORY = 'Memory:';

const positive = (v: number): string | undefined => (v > 0 ? undefined : 'must be > 0');
const atLeast =
  (min: number) =>
  (v: number): string | undefined =>
    v >= min ? undefined : `must be >= ${min}`;

/** The schema: flag name (snake_case, as the reference) to its spec. */
export const TRAIN_FLAGS = {
  data_path: {
    kind: 'string',
    default: './data/',
    describe: 'Folder with train.csv, val.csv and test.csv',
    group: GROUP_DATA,
  },
  val_test_size: {
    kind: 'number',
    describe:
      'When val.csv/test.csv are absent: fraction of train.csv carved out for validation and for test each (seeded)',
    check: (v: number) => (v > 0 && v < 0.5 ? undefined : 'must be in (0, 0.5)'),
    group: GROUP_DATA,
  },
  max_len: {
    kind: 'integer',
    default: 512,
    describe:
      'Maximum tokenized length (word pieces incl. [CLS] and [SEP]); longer sentences are truncated and counted',
    check: atLeast(3),
    group: GROUP_DATA,
  },
  labels: {
    kind: 'list',
    describe: 'Label set, comma-separated (O first); default: from the training data',
    group: GROUP_DATA,
  },
  label_all_subtokens: {
    kind: 'boolean',
    default: true,
    describe:
      "Label a word's later word pieces too (B- becomes I-); false gives them -100 (ignored)",
    group: GROUP_DATA,
  },
  num_workers: {
    kind: 'integer',
    default: 4,
    describe: 'Data-loading concurrency',
    check: atLeast(0),
    group: GROUP_DATA,
  },
  learning_rate: {
    kind: 'number',
    default: 0.0002,
    describe: 'Peak learning rate',
    check: positive,
    group: GROUP_OPT,
  },
  wd: {
    kind: 'number',
    default: 0.01,
    describe: 'AdamW decoupled weight decay',
    check: atLeast(0),
    group: GROUP_OPT,
  },
  wd_exclude_bias_layernorm: {
    kind: 'boolean',
    default: false,
    describe: 'No weight decay on biases and LayerNorm weights (as HF Trainer)',
    group: GROUP_OPT,
  },
  double_lr: {
    kind: 'boolean',
    default: false,
    describe: 'BERT parameters at learning_rate/10, classifier at learning_rate',
    group: GROUP_OPT,
  },
  scheduler: {
    kind: 'string',
    default: 'linear',
    choices: ['linear', 'exponential', 'none'],
    describe:
      'linear: warmup then linear decay to 0; exponential: lr x gamma after each epoch; none',
    group: GROUP_OPT,
  },
  linear_scheduler: {
    kind: 'boolean',
    default: true,
    describe: 'Reference switch: false = exponential schedule (same as --scheduler exponential)',
    group: GROUP_OPT,
  },
  gamma: {
    kind: 'number',
    default: 0.8,
    describe: 'Per-epoch factor of the exponential schedule',
    check: (v: number) => (v > 0 && v <= 1 ? undefined : 'must be in (0, 1]'),
    group: GROUP_OPT,
  },
  warmup_steps: {
    kind: 'integer',
    describe: 'Linear warmup, in optimizer steps (default: round(steps per epoch / 5))',
    check: atLeast(0),
    group: GROUP_OPT,
  },
  max_grad_norm: {
    kind: 'number',
    default: 1.0,
    describe: 'Global gradient-norm clip applied every optimizer step',
    check: positive,
    group: GROUP_OPT,
  },
  gradient_accumulation_steps: {
    kind: 'integer',
    default: 1,
    describe: 'Batches whose gradients are summed per optimizer step',
    check: atLeast(1),
    group: GROUP_OPT,
  },
  epochs: {
    kind: 'integer',
    default: 10,
    describe: 'Training epochs',
    check: atLeast(1),
    group: GROUP_LOOP,
  },
  batch_size: {
    kind: 'integer',
    default: 16,
    describe: 'Sentences per batch per process (global batch = batch_size x processes)',
    check: atLeast(1),
    group: GROUP_LOOP,
  },
  patience: {
    kind: 'integer',
    default: 2,
    describe: 'Stop after patience x k epochs without validation-F1 improvement',
    check: atLeast(1),
    group: GROUP_LOOP,
  },
  num_validate_during_training: {
    kind: 'integer',
    default: 1,
    describe:
      'Validations per epoch (k), every floor(batches/k) batches; the epoch figures are their mean',
    check: atLeast(1),
    group: GROUP_LOOP,
  },
  seed: {
    kind: 'integer',
    default: 42,
    describe: 'Seed for initialisation, shuffling and val_test_size splits',
    check: atLeast(0),
    group: GROUP_LOOP,
  },
  resume_from_checkpoint: {
    kind: 'string',
    describe:
      "Training-state checkpoint to resume from: a directory, or 'latest' (newest complete one in save_model_path/checkpoints)",
    group: GROUP_LOOP,
  },
  save_steps: {
    kind: 'integer',
    describe:
      'Also write a training-state checkpoint every N optimizer steps (one is written at every epoch end)',
    check: atLeast(1),
    group: GROUP_LOOP,
  },
  save_total_limit: {
    kind: 'integer',
    default: 2,
    describe: 'Training-state checkpoints kept in save_model_path/checkpoints (oldest removed)',
    check: atLeast(1),
    group: GROUP_LOOP,
  },
  model_name_or_path: {
    kind: 'string',
    default: 'TurkuNLP/bert-base-finnish-cased-v1',
    describe: 'Local model directory or HF hub id (a config-only directory means random init)',
    group: GROUP_MODEL,
  },
  freeze_layers: {
    kind: 'integer',
    default: 0,
    describe: 'N>0: freeze embeddings and the first N encoder layers; -1: embeddings only',
    check: atLeast(-1),
    group: GROUP_MODEL,
  },
  classifier_dropout: {
    kind: 'number',
    describe: "Overrides the classifier head's dropout (default: the model config's)",
    check: (v: number) => (v >= 0 && v < 1 ? undefined : 'must be in [0, 1)'),
    group: GROUP_MODEL,
  },
  save_model_path: {
    kind: 'string',
    default: './checkpoint/',
    describe: 'Output folder: best model, metrics.json, history.csv, plots, report.html',
    group: GROUP_MODEL,
  },
  overwrite_output_dir: {
    kind: 'boolean',
    default: false,
    describe:
      'Write into a save_model_path that holds files ner-launch did not write (same-named files are replaced); without it such a folder is refused',
    group: GROUP_MODEL,
  },
  backend: {
    kind: 'string',
    default: 'auto',
    choices: LAUNCH_BACKENDS,
    describe:
      "Backend (default: the launcher's --backend, else auto): wasm, tensorflow, cpu (tfjs) or cuda (the CUDA engine, NVIDIA GPUs)",
    group: GROUP_MODEL,
  },
  cuda_home: {
    kind: 'string',
    describe:
      "cuda engine: CUDA's folder (default: CUDA_HOME/CUDA_PATH, LD_LIBRARY_PATH, /usr/local/cuda, then the nvidia-* wheels of NER_LAUNCH_CUDA_PYTHON)",
    group: GROUP_MODEL,
  },
  tf32: {
    kind: 'boolean',
    default: false,
    describe:
      "cuda engine: float32 matmuls on TF32 tensor cores (torch's allow_tf32; off by default, as torch)",
    group: GROUP_MODEL,
  },
  num_threads: {
    kind: 'integer',
    describe:
      "Threads per worker for the backend's math (tensorflow's intra-op pool; wasm always runs one), default: CPU cores / processes on this machine, so workers do not oversubscribe it",
    check: atLeast(1),
    group: GROUP_MODEL,
  },
  memory_limit_mb: {
    kind: 'number',
    describe:
      "Tensor memory per process the memory plan may use, in MiB (default: the backend's limit, e.g. the 4 GiB wasm heap less headroom)",
    check: positive,
    group: GROUP_MEMORY,
  },
  micro_batch_size: {
    kind: 'integer',
    describe:
      'Sentences per forward + backward, accumulated to --batch_size with the same result (default: the memory plan chooses)',
    check: atLeast(1),
    group: GROUP_MEMORY,
  },
  recompute: {
    kind: 'string',
    default: 'auto',
    choices: ['auto', 'on', 'off'],
    describe:
      'Per-encoder-layer activation recomputation (auto: when the memory plan finds it cheapest for the batch to fit)',
    group: GROUP_MEMORY,
  },
} satisfies Record<string, FlagSpec>;

/** A train flag's snake_case name. */
export type TrainFlagName = keyof typeof TRAIN_FLAGS;
const FLAG_NAMES = Object.keys(TRAIN_FLAGS) as TrainFlagName[];
const SPECS: Record<TrainFlagName, FlagSpec> = TRAIN_FLAGS;

function kebab(name: string): string {
  return name.replace(/_/g, '-');
}

/** Maps any accepted spelling (snake, kebab) to the flag name, or undefined. */
function canonicalName(key: string): TrainFlagName | undefined {
  const snake = key.replace(/-/g, '_');
  return (FLAG_NAMES as string[]).includes(snake) ? (snake as TrainFlagName) : undefined;
}

/** One flag as yargs' `.options()` takes it (structurally; this package does not import yargs). */
export interface TrainFlagYargsOption {
  describe: string;
  group: string;
  type: 'string' | 'number' | 'boolean';
  alias?: string;
  choices?: string[];
  defaultDescription?: string;
}

/**
 * The train flags for yargs' `.options()`, `--config` included. No yargs defaults are set,
 * so a flag the user did not type stays undefined and the YAML file can fill it; help shows
 * the defaults through defaultDescription.
 */
export function trainFlagYargsOptions(): Record<string, TrainFlagYargsOption> {
  const options: Record<string, TrainFlagYargsOption> = {
    config: {
      describe: 'YAML file of train flags (a flag on the command line wins over the file)',
      group: 'Config:',
      type: 'string',
    },
  };
  for (const name of FLAG_NAMES) {
    const spec = SPECS[name];
    const option: TrainFlagYargsOption = {
      describe: spec.describe,
      group: spec.group,
      type:
        spec.kind === 'boolean'
          ? 'boolean'
          : spec.kind === 'number' || spec.kind === 'integer'
            ? 'number'
            : 'string',
    };
    if (kebab(name) !== name) option.alias = kebab(name);
    if (spec.choices) option.choices = [...spec.choices];
    if (spec.default !== undefined) option.defaultDescription = String(spec.default);
    options[name] = option;
  }
  return options;
}

function coerce(name: TrainFlagName, raw: unknown, where: string): unknown {
  const spec = SPECS[name];
  const fail = (what: string): never => {
    throw new UsageError(
      `--${name}${where}: ${what} (got ${typeof raw === 'number' ? String(raw) : JSON.stringify(raw)})`,
      { flag: name },
    );
  };
  switch (spec.kind) {
    case 'string': {
      if (typeof raw === 'number') raw = String(raw);
      if (typeof raw !== 'string' || raw.length === 0) fail('expected a non-empty string');
      const value = raw as string;
      if (spec.choices && !spec.choices.includes(value))
        fail(`must be one of ${spec.choices.join(', ')}`);
      return value;
    }
    case 'number':
    case 'integer': {
      const value = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
      if (typeof value !== 'number' || !Number.isFinite(value)) fail('expected a number');
      if (spec.kind === 'integer' && !Number.isInteger(value)) fail('expected an integer');
      const problem = spec.check?.(value as never);
      if (problem) fail(problem);
      return value;
    }
    case 'boolean': {
      if (typeof raw === 'boolean') return raw;
      if (raw === 'true' || raw === 'True' || raw === '1' || raw === 1) return true;
      if (raw === 'false' || raw === 'False' || raw === '0' || raw === 0) return false;
      return fail('expected true or false');
    }
    case 'list': {
      const items = Array.isArray(raw)
        ? raw.map((item) => (typeof item === 'string' ? item.trim() : fail('expected strings')))
        : typeof raw === 'string'
          ? raw.split(',').map((item) => item.trim())
          : fail('expected a comma-separated list');
      if (items.length === 0 || items.some((item) => item.length === 0))
        fail('expected a non-empty comma-separated list without empty items');
      if (new Set(items).size !== items.length) fail('contains a label twice');
      return items;
    }
  }
}

/**
 * Reads a `--config` YAML file: a mapping of train flags (snake or kebab case). Unknown keys
 * and bad values are errors naming the file and the key.
 */
export async function readTrainConfigFile(
  path: string,
): Promise<Partial<Record<TrainFlagName, unknown>>> {
  let text: string;
  try {
    text = readYamlConfigText(path);
  } catch (error) {
    throw new UsageError(`--config ${path}: cannot read the file (${(error as Error).message})`, {
      flag: 'config',
    });
  }
  const parsed = parseYamlLinear(text);
  if (parsed.problem)
    throw new UsageError(
      `--config ${path}${parsed.problem.line ? `:${parsed.problem.line}` : ''}: invalid YAML: ${parsed.problem.message}`,
      { flag: 'config' },
    );
  const doc: unknown = parsed.doc.toJS();
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc))
    throw new UsageError(`--config ${path}: expected a mapping of train flags`, { flag: 'config' });
  const values: Partial<Record<TrainFlagName, unknown>> = {};
  for (const [key, raw] of Object.entries(doc as Record<string, unknown>)) {
    const name = canonicalName(key);
    if (!name)
      throw new UsageError(
        `--config ${path}: unknown key "${key}" (train flags are: ${FLAG_NAMES.join(', ')})`,
        { flag: 'config' },
      );
    if (raw === null) continue;
    values[name] = coerce(name, raw, ` (in ${path}, key "${key}")`);
  }
  return values;
}

/**
 * Resolves parsed command-line values (yargs' argv, snake_case keys) plus the optional
 * `--config` file into validated TrainOptions. `env` supplies the launcher's NER_BACKEND.
 */
export async function resolveTrainOptions(
  cli: Record<string, unknown>,
  env: NodeJS.ProcessEnv = process.env,
): Promise<TrainOptions> {
  const configPath = typeof cli.config === 'string' ? cli.config : undefined;
  const fromFile = configPath ? await readTrainConfigFile(configPath) : {};
  const fromCli: Partial<Record<TrainFlagName, unknown>> = {};
  for (const name of FLAG_NAMES) {
    const raw = cli[name] ?? cli[kebab(name)];
    if (raw !== undefined) fromCli[name] = coerce(name, raw, '');
  }
  const merged: Record<string, unknown> = {};
  for (const name of FLAG_NAMES) {
    merged[name] = fromCli[name] ?? fromFile[name] ?? SPECS[name].default;
  }
  if (fromCli.backend === undefined && fromFile.backend === undefined && env.NER_BACKEND)
    merged.backend = coerce('backend', env.NER_BACKEND, ' (from NER_BACKEND)');

  // The reference's older boolean switch and --scheduler: the higher-precedence source
  // decides; both set in the same source must agree.
  for (const source of [fromCli, fromFile]) {
    const linear = source.linear_scheduler as boolean | undefined;
    const scheduler = source.scheduler as SchedulerKind | undefined;
    if (linear !== undefined && scheduler !== undefined && (scheduler === 'linear') !== linear)
      throw new UsageError(
        `--linear_scheduler ${String(linear)} conflicts with --scheduler ${scheduler}`,
        { flag: 'linear_scheduler' },
      );
    if (scheduler !== undefined) {
      merged.scheduler = scheduler;
      break;
    }
    if (linear !== undefined) {
      merged.scheduler = linear ? 'linear' : 'exponential';
      break;
    }
  }
  merged.linear_scheduler = merged.scheduler === 'linear';
  if (configPath) merged.config = configPath;
  for (const key of Object.keys(merged)) if (merged[key] === undefined) delete merged[key];
  return merged as unknown as TrainOptions;
}

/** Fails when the --data_path folder does not exist (the launcher checks it before any worker starts). */
export async function checkDataPath(path: string): Promise<void> {
  try {
    await access(path);
  } catch {
    throw new DataError(
      path,
      0,
      '--data_path: folder not found (expected train.csv, val.csv and test.csv in it)',
    );
  }
}

/**
 * Fails before training when save_model_path cannot be created or written (checked by
 * creating and removing a probe file), so a long run never dies at its first save.
 */
export async function checkSaveModelPathWritable(path: string): Promise<void> {
  try {
    await makeDirectories(path);
    const info = await stat(path);
    if (!info.isDirectory()) throw new Error('not a directory');
    await access(path, constants.W_OK);
    const probe = join(path, `.ner-launch-write-probe-${process.pid}`);
    await writeFile(probe, '');
    await rm(probe, { force: true });
  } catch (error) {
    throw new UsageError(`--save_model_path ${path}: not writable (${(error as Error).message})`, {
      flag: 'save_model_path',
    });
  }
}
