/**
 * The model and tokenizer a run starts from (`--model_name_or_path`), shaped for the run's
 * labels: a checkpoint directory or hub id loads its weights (a classifier of another size is
 * re-initialised, as HF's `ignore_mismatched_sizes`); a local directory with config.json and
 * vocab.txt but no weight file means a model trained from scratch (random init, seeded), as
 * the quickstart's. `--classifier_dropout` overrides the head's dropout.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { log, UsageError } from '@ner-launch/common';
import { parseBertConfig, withLabels, type BertConfig } from '../model/config.js';
import { checkModelSize } from '../model/model-size.js';
import { BertForTokenClassification } from '../model/token-classification.js';
import { loadPretrained, readJsonObjectFile } from '../model/weights/checkpoint-dir.js';
import { WEIGHT_FILES } from '../model/weights/hub-cache.js';
import { BertTokenizer } from '../tokenizer/bert-tokenizer.js';

/** A model ready to train, with what saving it needs. */
export interface ModelBundle {
  model: BertForTokenClassification;
  tokenizer: BertTokenizer;
  /** config.json fields to save with the model (labels are set at save time). */
  configJson: Record<string, unknown>;
  /** Where it came from, for logs. */
  source: string;
}

/** Whether `dir` is a local model directory without weights (random initialisation). */
export function isConfigOnlyDirectory(dir: string): boolean {
  return (
    existsSync(join(dir, 'config.json')) &&
    !WEIGHT_FILES.some((file) => existsSync(join(dir, file)))
  );
}

function applyOverrides(
  config: BertConfig,
  labels: readonly string[],
  options: { classifier_dropout?: number; max_len: number },
  configPath: string,
): BertConfig {
  if (options.max_len > config.maxPositionEmbeddings)
    throw new UsageError(
      `--max_len ${options.max_len} exceeds the model's max_position_embeddings ${config.maxPositionEmbeddings} (${configPath})`,
      { flag: 'max_len' },
    );
  const labelled = withLabels(config, labels);
  return options.classifier_dropout === undefined
    ? labelled
    : { ...labelled, classifierDropout: options.classifier_dropout };
}

/** Loads (or randomly initialises) the model for `labels` and its tokenizer. */
export async function loadModelForTraining(
  options: {
    model_name_or_path: string;
    classifier_dropout?: number;
    max_len: number;
    seed: number;
  },
  labels: readonly string[],
): Promise<ModelBundle> {
  const source = options.model_name_or_path;
  if (isConfigOnlyDirectory(source)) {
    const configPath = join(source, 'config.json');
    const configJson = readJsonObjectFile(configPath);
    const config = applyOverrides(
      parseBertConfig(configJson, configPath),
      labels,
      options,
      configPath,
    );
    // Before random init allocates: a config past this machine's memory fails here.
    checkModelSize(config, configPath, 'train');
    log.info(
      `${source} has no weight file: initialising the model randomly (seed ${options.seed})`,
    );
    const model = withQuietInit(() =>
      BertForTokenClassification.fromStateDict(config, new Map(), {
        seed: options.seed,
        source,
      }),
    );
    return { model, tokenizer: BertTokenizer.fromDirectory(source), configJson, source };
  }
  const checkpoint = await loadPretrained(source, {
    numLabels: labels.length,
    ignoreMismatchedSizes: true,
    use: 'train',
  });
  for (const warning of checkpoint.warnings) log.warn(warning);
  const config = applyOverrides(
    checkpoint.config,
    labels,
    options,
    join(checkpoint.dir, 'config.json'),
  );
  const model = BertForTokenClassification.fromStateDict(config, checkpoint.stateDict, {
    seed: options.seed,
    source,
  });
  return {
    model,
    tokenizer: BertTokenizer.fromDirectory(checkpoint.tokenizerDir),
    configJson: checkpoint.configJson,
    source,
  };
}

/**
 * Random init reports every parameter as "missing", one long warning that says nothing for
 * a model meant to start from scratch; the info line above replaces it.
 */
function withQuietInit<T>(build: () => T): T {
  const level = log.level;
  log.level = 'error';
  try {
    return build();
  } finally {
    log.level = level;
  }
}

/** Loads a saved best model (HF directory) for the test phase. */
export async function loadSavedModel(
  dir: string,
  seed: number,
): Promise<BertForTokenClassification> {
  // Rank 0 saves the best model; another machine with its own (unshared) path finds nothing.
  if (!existsSync(join(dir, 'config.json')))
    throw new UsageError(
      `--save_model_path ${dir}: no best model here to test with (rank 0 saves it; every machine must see the same directory, e.g. on a shared file system)`,
      { flag: 'save_model_path' },
    );
  const checkpoint = await loadPretrained(dir);
  return BertForTokenClassification.fromStateDict(checkpoint.config, checkpoint.stateDict, {
    seed,
    source: dir,
  });
}
