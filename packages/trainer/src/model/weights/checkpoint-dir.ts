/**
 * HF model directories in and out. `loadPretrained` takes a local directory or a hub id and
 * returns the config JSON, the tensors under BertForTokenClassification names (checked
 * against the config's shapes and the vocab), and HF-style warnings about missing and unused
 * keys. `saveCheckpoint` writes a directory `from_pretrained` loads: config.json,
 * model.safetensors and the tokenizer files, all at once (temp directory, then rename).
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { writeDirectoryAtomic, writeFileAtomic, UsageError } from '@ner-launch/common';
import {
  loadTokenizerFiles,
  parseVocab,
  saveTokenizerFiles,
  type TokenizerFiles,
} from '../../tokenizer/tokenizer-files.js';
import { CheckpointError } from '../../checkpoint-error.js';
import type { ElementDtype } from './element-decode.js';
import { parseBertConfig, type BertConfig } from '../config.js';
import {
  CLASSIFIER_PARAMETERS,
  OPTIONAL_PARAMETERS,
  tokenClassificationShapes,
} from './expected-parameters.js';
import { isHubId, resolveHubModel, WEIGHT_FILES, type HubOptions } from './hub-cache.js';
import { normaliseKeys } from './key-names.js';
import { readSafetensors, readShardedSafetensors, writeSafetensorsFile } from './safetensors.js';
import { readShardedCheckpoint } from './sharded-checkpoint.js';
import type { StateDict } from './state-dict.js';
import { readTorchCheckpoint } from './torch-zip.js';
import { readBoundedFileSync, type WeightLimits } from '../../bounded-file.js';
import { checkModelSize, type ModelUse } from '../model-size.js';

/** The class name we load into and save as. */
export const MODEL_CLASS = 'BertForTokenClassification';

/** Options for `loadPretrained`. */
export interface LoadPretrainedOptions {
  /** Labels the classifier must have; default: config.json's id2label (or num_labels, or 2). */
  numLabels?: number;
  /** Drop a classifier whose shape differs from numLabels (reported as re-initialised) instead of failing. */
  ignoreMismatchedSizes?: boolean;
  /** Hub revision, cache and network settings for hub ids. */
  hub?: HubOptions;
  /** What the model is loaded for, which decides the memory its parameters need (default eval). */
  use?: ModelUse;
}

/** A checkpoint ready to build a model from. */
export interface PretrainedCheckpoint {
  /** The local directory read (a hub cache snapshot for hub ids). */
  dir: string;
  /** config.json as parsed, unchanged. */
  configJson: Record<string, unknown>;
  /** The validated config (parseBertConfig); its labels are the checkpoint's own. */
  config: BertConfig;
  /** Shape-checked tensors under BertForTokenClassification names; unused keys removed. */
  stateDict: StateDict;
  /** Stored dtype of each tensor in `stateDict` (float16/bfloat16 were converted). */
  storedDtypes: Map<string, ElementDtype>;
  /** Directory holding the tokenizer files (vocab.txt, tokenizer_config.json, ...). */
  tokenizerDir: string;
  /** The weight file read (the index for sharded checkpoints). */
  weightsFile: string;
  /** Model parameters the checkpoint lacks (to be freshly initialised, e.g. the classifier). */
  missingKeys: string[];
  /** Checkpoint tensors the model does not use (e.g. BertForPreTraining's cls.* heads). */
  unusedKeys: string[];
  /** Human-readable warnings, worded like transformers' load messages. */
  warnings: string[];
}

/** Parses a JSON object file; syntax errors name the file with line and column. */
export function readJsonObjectFile(path: string): Record<string, unknown> {
  const text = readBoundedFileSync(path).toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const message = (error as Error).message;
    const position = /at position (\d+)/.exec(message);
    let where = '';
    if (position) {
      const before = text.slice(0, Number(position[1]));
      const line = before.split('\n').length;
      where = ` at line ${line} column ${before.length - before.lastIndexOf('\n')}`;
    }
    throw new CheckpointError(path, `malformed JSON${where}: ${message}`, { cause: error });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new CheckpointError(path, 'expected a JSON object');
  return value as Record<string, unknown>;
}

async function resolveDirectory(dirOrHubId: string, hub: HubOptions | undefined): Promise<string> {
  // A path that names no model directory is a usage error (the flag is wrong), not a damaged file.
  if (existsSync(dirOrHubId)) {
    if (!statSync(dirOrHubId).isDirectory())
      throw new UsageError(
        `${dirOrHubId}: is a file; pass the model directory that contains config.json and the weights`,
      );
    return dirOrHubId;
  }
  if (!isHubId(dirOrHubId))
    throw new UsageError(
      `${dirOrHubId}: no such directory, and not a Hugging Face hub id (org/name)`,
    );
  try {
    return await resolveHubModel(dirOrHubId, hub);
  } catch (error) {
    // An "org/name" string may equally have been meant as a relative path: say both.
    throw new CheckpointError(
      dirOrHubId,
      `no such local directory; as a hub id: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
}

/**
 * What the weight file may hold for `expected` parameter shapes: each tensor at most the
 * largest parameter, and in all at most twice the parameters (room for pre-training heads and
 * other unused tensors) in the widest dtype (float64).
 */
function weightLimits(expected: Map<string, number[]>, configPath: string): WeightLimits {
  let total = 0;
  let largest = 0;
  for (const shape of expected.values()) {
    const count = shape.reduce((a, b) => a * b, 1);
    total += count;
    largest = Math.max(largest, count);
  }
  return {
    maxBytes: 2 * total * 8 + 2 ** 20,
    maxTensorElements: largest,
    source: `the model ${configPath} describes`,
  };
}

async function readWeights(
  dir: string,
  limits: WeightLimits,
): Promise<{ file: string; tensors: StateDict; storedDtypes: Map<string, ElementDtype> }> {
  const file = WEIGHT_FILES.map((name) => join(dir, name)).find((path) => existsSync(path));
  if (!file) {
    const others = ['tf_model.h5', 'flax_model.msgpack', 'model.ckpt.index'].filter((f) =>
      existsSync(join(dir, f)),
    );
    throw new CheckpointError(
      dir,
      `no weight file: looked for ${WEIGHT_FILES.join(', ')}` +
        (others.length
          ? ` (found ${others.join(', ')}, which are not supported; convert with transformers' save_pretrained)`
          : ''),
    );
  }
  if (file.endsWith('model.safetensors')) return { file, ...(await readSafetensors(file, limits)) };
  if (file.endsWith('model.safetensors.index.json'))
    return { file, ...(await readShardedSafetensors(file, limits)) };
  if (file.endsWith('pytorch_model.bin'))
    return { file, ...(await readTorchCheckpoint(file, limits)) };
  return {
    file,
    ...(await readShardedCheckpoint(file, (shard) => readTorchCheckpoint(shard, limits))),
  };
}

/**
 * Token count of the directory's vocabulary: vocab.txt lines, else the WordPiece vocab in
 * tokenizer.json (transformers 5 saves only that).
 */
function vocabularySize(dir: string): { file: string; size: number } | undefined {
  const vocabPath = join(dir, 'vocab.txt');
  if (existsSync(vocabPath))
    return {
      file: vocabPath,
      size: parseVocab(readBoundedFileSync(vocabPath).toString('utf8')).length,
    };
  const tokenizerPath = join(dir, 'tokenizer.json');
  if (!existsSync(tokenizerPath)) return undefined;
  const model = readJsonObjectFile(tokenizerPath).model as { vocab?: unknown } | undefined;
  if (typeof model?.vocab !== 'object' || model.vocab === null)
    throw new CheckpointError(tokenizerPath, 'has no model.vocab object');
  const ids = Object.values(model.vocab as Record<string, unknown>);
  if (!ids.every((id) => typeof id === 'number' && Number.isSafeInteger(id) && id >= 0))
    throw new CheckpointError(tokenizerPath, 'model.vocab ids must be non-negative integers');
  return { file: tokenizerPath, size: (ids as number[]).reduce((a, b) => Math.max(a, b), -1) + 1 };
}

function formatShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/** Loads config, weights and tokenizer location from a model directory or hub id. */
export async function loadPretrained(
  dirOrHubId: string,
  options: LoadPretrainedOptions = {},
): Promise<PretrainedCheckpoint> {
  const dir = await resolveDirectory(dirOrHubId, options.hub);
  const configPath = join(dir, 'config.json');
  const configJson = readJsonObjectFile(configPath);
  const config = parseBertConfig(configJson, configPath);
  // Before any weight is read: a config describing more than memory holds fails here.
  checkModelSize(config, configPath, options.use ?? 'eval');
  const dims = {
    vocabSize: config.vocabSize,
    hiddenSize: config.hiddenSize,
    numHiddenLayers: config.numHiddenLayers,
    intermediateSize: config.intermediateSize,
    maxPositionEmbeddings: config.maxPositionEmbeddings,
    typeVocabSize: config.typeVocabSize,
    numLabels: options.numLabels ?? config.id2label.length,
  };
  const expected = tokenClassificationShapes(dims);
  // A classifier of another label count may be re-initialised: allow the larger of both.
  const bound = tokenClassificationShapes({
    ...dims,
    numLabels: Math.max(dims.numLabels, config.id2label.length),
  });
  const weights = await readWeights(dir, weightLimits(bound, configPath));
  let normalised;
  try {
    normalised = normaliseKeys(weights.tensors, weights.file);
  } catch (error) {
    throw new CheckpointError(
      weights.file,
      (error as Error).message.replace(`${weights.file}: `, ''),
    );
  }

  const stateDict: StateDict = new Map();
  const storedDtypes = new Map<string, ElementDtype>();
  const unusedKeys: string[] = [];
  const reinitialised: string[] = [];
  const originalName = new Map([...normalised.renamed].map(([from, to]) => [to, from]));
  for (const [name, tensor] of normalised.stateDict) {
    const shape = expected.get(name);
    if (!shape) {
      unusedKeys.push(originalName.get(name) ?? name);
      continue;
    }
    if (shape.length !== tensor.shape.length || shape.some((d, i) => d !== tensor.shape[i])) {
      if (CLASSIFIER_PARAMETERS.includes(name) && options.ignoreMismatchedSizes) {
        reinitialised.push(
          `${name}: found shape ${formatShape(tensor.shape)} in the checkpoint and ${formatShape(shape)} in the model instantiated`,
        );
        continue;
      }
      const why =
        name === 'bert.embeddings.word_embeddings.weight'
          ? ` (vocab_size ${dims.vocabSize}, hidden_size ${dims.hiddenSize} in config.json)`
          : CLASSIFIER_PARAMETERS.includes(name)
            ? ` (${dims.numLabels} labels expected; pass ignoreMismatchedSizes to re-initialise the classifier)`
            : ' (from config.json)';
      throw new CheckpointError(
        weights.file,
        `shape mismatch: "${originalName.get(name) ?? name}" has shape ${formatShape(tensor.shape)} but the model expects ${formatShape(shape)}${why}`,
      );
    }
    stateDict.set(name, tensor);
    const dtype = weights.storedDtypes.get(originalName.get(name) ?? name);
    if (dtype) storedDtypes.set(name, dtype);
  }
  const missingKeys = [...expected.keys()]
    .filter((name) => !stateDict.has(name) && !OPTIONAL_PARAMETERS.has(name))
    .sort();
  unusedKeys.sort();

  const tokenizerDir = dir;
  const warnings: string[] = [];
  const vocab = vocabularySize(tokenizerDir);
  if (vocab) {
    const rows =
      stateDict.get('bert.embeddings.word_embeddings.weight')?.shape[0] ?? dims.vocabSize;
    if (vocab.size > rows)
      throw new CheckpointError(
        vocab.file,
        `shape mismatch: the vocabulary has ${vocab.size} tokens but the word embeddings in ${weights.file} have ${rows} rows; token ids from ${rows} up would have no embedding`,
      );
  } else
    warnings.push(
      `${tokenizerDir} has no vocab.txt or tokenizer.json; the tokenizer must come from elsewhere`,
    );

  if (unusedKeys.length > 0)
    warnings.push(
      `Some weights of the model checkpoint at ${dirOrHubId} were not used when initializing ${MODEL_CLASS}: ${JSON.stringify(unusedKeys)}\n` +
        `- This IS expected if you are initializing ${MODEL_CLASS} from the checkpoint of a model trained on another task or with another architecture (e.g. initializing a BertForTokenClassification model from a BertForPreTraining model).`,
    );
  if (missingKeys.length > 0)
    warnings.push(
      `Some weights of ${MODEL_CLASS} were not initialized from the model checkpoint at ${dirOrHubId} and are newly initialized: ${JSON.stringify(missingKeys)}\n` +
        'You should probably TRAIN this model on a down-stream task to be able to use it for predictions and inference.',
    );
  if (reinitialised.length > 0)
    warnings.push(
      `Some weights of ${MODEL_CLASS} were not initialized from the model checkpoint at ${dirOrHubId} and are newly initialized because the shapes did not match:\n` +
        reinitialised.map((line) => `- ${line}`).join('\n'),
    );
  return {
    dir,
    configJson,
    config,
    stateDict,
    storedDtypes,
    tokenizerDir,
    weightsFile: weights.file,
    missingKeys,
    unusedKeys,
    warnings,
  };
}

/** What `saveCheckpoint` writes. */
export interface CheckpointContents {
  /** The model's config.json fields (e.g. PretrainedCheckpoint.configJson); labels are set from `labels`. */
  config: Record<string, unknown>;
  /** Tensors under HF names, as the model's `toStateDict()` gives them. */
  stateDict: StateDict;
  /** Label names in id order; become id2label/label2id. Default: keep the config's. */
  labels?: readonly string[];
  /** The tokenizer to save (written with saveTokenizerFiles) ... */
  tokenizer?: { readonly files: TokenizerFiles };
  /** ... or a directory whose tokenizer files are copied (normalised through the tokenizer loader). */
  tokenizerSourceDir?: string;
}

/** The config.json we write: the given config with labels and architecture set. */
export function checkpointConfig(
  config: Record<string, unknown>,
  labels?: readonly string[],
): Record<string, unknown> {
  const out: Record<string, unknown> = {
    ...config,
    architectures: [MODEL_CLASS],
    model_type: 'bert',
  };
  if (labels) {
    out.id2label = Object.fromEntries(labels.map((label, i) => [String(i), label]));
    out.label2id = Object.fromEntries(labels.map((label, i) => [label, i]));
    // HF derives num_labels from id2label; a stale explicit value would contradict it.
    delete out.num_labels;
  }
  return out;
}

/**
 * Writes an HF-compatible BertForTokenClassification directory at `dir` atomically: a crash
 * leaves either the previous directory or the complete new one, never a half checkpoint.
 */
export async function saveCheckpoint(dir: string, contents: CheckpointContents): Promise<void> {
  const config = checkpointConfig(contents.config, contents.labels);
  const classifier = contents.stateDict.get('classifier.weight');
  const numLabels = Object.keys(
    (config.id2label as Record<string, string> | undefined) ?? {},
  ).length;
  if (!classifier)
    throw new Error(`saveCheckpoint(${dir}): the state dict has no classifier.weight`);
  if (numLabels === 0)
    throw new Error(`saveCheckpoint(${dir}): no labels (pass labels or a config with id2label)`);
  if (classifier.shape[0] !== numLabels)
    throw new Error(
      `saveCheckpoint(${dir}): classifier.weight has ${classifier.shape[0]} rows but the config has ${numLabels} labels`,
    );
  const tokenizer =
    contents.tokenizer ??
    (contents.tokenizerSourceDir
      ? { files: loadTokenizerFiles(contents.tokenizerSourceDir) }
      : undefined);
  await writeDirectoryAtomic(dir, async (tmp) => {
    await writeFileAtomic(join(tmp, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
    await writeSafetensorsFile(join(tmp, 'model.safetensors'), contents.stateDict);
    if (tokenizer) await saveTokenizerFiles(tokenizer, tmp);
  });
}
