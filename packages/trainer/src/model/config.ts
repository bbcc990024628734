/**
 * BERT configuration parsed from an HF `config.json`, with HF's defaults for absent fields and
 * a clear error (file + field) for malformed ones.
 */
import { OperationalError } from '@ner-launch/common';
import { readBoundedFileSync } from '../bounded-file.js';

/** Activations the encoder's intermediate layer supports (`gelu` is the exact erf form). */
export type HiddenAct = 'gelu' | 'gelu_new' | 'relu';
export const HIDDEN_ACTS: readonly HiddenAct[] = ['gelu', 'gelu_new', 'relu'];

/** The typed subset of BertConfig that the model uses. */
export interface BertConfig {
  vocabSize: number;
  hiddenSize: number;
  numHiddenLayers: number;
  numAttentionHeads: number;
  intermediateSize: number;
  hiddenAct: HiddenAct;
  hiddenDropoutProb: number;
  attentionProbsDropoutProb: number;
  maxPositionEmbeddings: number;
  typeVocabSize: number;
  layerNormEps: number;
  initializerRange: number;
  /** null: the classifier uses hiddenDropoutProb (as HF). */
  classifierDropout: number | null;
  padTokenId: number;
  /** Label names by id; its length is num_labels. */
  id2label: string[];
  label2id: Record<string, number>;
  /** Every field of the original file, so saving keeps what we do not model. */
  raw: Record<string, unknown>;
}

/** A malformed config.json: names the file and the field. */
export class ConfigError extends OperationalError {
  constructor(
    readonly file: string,
    readonly field: string,
    problem: string,
  ) {
    super(`${file}: field "${field}" ${problem}`);
    this.name = 'ConfigError';
  }
}

// HF BertConfig defaults (transformers/models/bert/configuration_bert.py).
const DEFAULTS = {
  vocab_size: 30522,
  hidden_size: 768,
  num_hidden_layers: 12,
  num_attention_heads: 12,
  intermediate_size: 3072,
  hidden_act: 'gelu',
  hidden_dropout_prob: 0.1,
  attention_probs_dropout_prob: 0.1,
  max_position_embeddings: 512,
  type_vocab_size: 2,
  layer_norm_eps: 1e-12,
  initializer_range: 0.02,
  pad_token_id: 0,
} as const;

/**
 * Largest value accepted per dimension: far beyond any published BERT (the largest have 48
 * layers, hidden 2048, vocabularies of 250k), small enough that shapes and parameter lists
 * built from them stay cheap; the memory check (model-size.ts) bounds their product.
 */
export const DIMENSION_MAXIMA = {
  vocab_size: 2 ** 22,
  hidden_size: 2 ** 16,
  num_hidden_layers: 256,
  num_attention_heads: 2 ** 12,
  intermediate_size: 2 ** 18,
  max_position_embeddings: 2 ** 20,
  type_vocab_size: 2 ** 16,
  num_labels: 2 ** 16,
} as const;

function positiveInt(
  raw: Record<string, unknown>,
  key: keyof typeof DEFAULTS & keyof typeof DIMENSION_MAXIMA,
  file: string,
) {
  const value = raw[key] ?? DEFAULTS[key];
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0)
    throw new ConfigError(file, key, `must be a positive integer, got ${JSON.stringify(value)}`);
  if (value > DIMENSION_MAXIMA[key])
    throw new ConfigError(
      file,
      key,
      `is ${value}, more than the maximum ${DIMENSION_MAXIMA[key]} this trainer accepts`,
    );
  return value;
}

function probability(raw: Record<string, unknown>, key: string, fallback: number, file: string) {
  const value = raw[key] ?? fallback;
  if (typeof value !== 'number' || !(value >= 0 && value < 1))
    throw new ConfigError(file, key, `must be a number in [0, 1), got ${JSON.stringify(value)}`);
  return value;
}

function positiveNumber(raw: Record<string, unknown>, key: string, fallback: number, file: string) {
  const value = raw[key] ?? fallback;
  if (typeof value !== 'number' || !(value > 0) || !Number.isFinite(value))
    throw new ConfigError(file, key, `must be a positive number, got ${JSON.stringify(value)}`);
  return value;
}

function parseLabels(raw: Record<string, unknown>, file: string): string[] {
  const id2label = raw.id2label;
  if (id2label === undefined || id2label === null) {
    // HF: num_labels (default 2) named LABEL_i when no mapping is given.
    const n = raw.num_labels ?? 2;
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n <= 0)
      throw new ConfigError(file, 'num_labels', `must be a positive integer, got ${String(n)}`);
    if (n > DIMENSION_MAXIMA.num_labels)
      throw new ConfigError(
        file,
        'num_labels',
        `is ${n}, more than the maximum ${DIMENSION_MAXIMA.num_labels} this trainer accepts`,
      );
    return Array.from({ length: n }, (_, i) => `LABEL_${i}`);
  }
  if (typeof id2label !== 'object' || Array.isArray(id2label))
    throw new ConfigError(file, 'id2label', 'must be an object mapping ids to label names');
  const entries = Object.entries(id2label as Record<string, unknown>);
  if (entries.length > DIMENSION_MAXIMA.num_labels)
    throw new ConfigError(
      file,
      'id2label',
      `has ${entries.length} labels, more than the maximum ${DIMENSION_MAXIMA.num_labels} this trainer accepts`,
    );
  const labels: string[] = new Array<string>(entries.length);
  for (const [id, name] of entries) {
    const index = Number(id);
    if (!/^\d+$/.test(id) || index >= entries.length)
      throw new ConfigError(
        file,
        `id2label.${id}`,
        `is not an id in 0..${entries.length - 1} (ids must be contiguous from 0)`,
      );
    if (typeof name !== 'string')
      throw new ConfigError(
        file,
        `id2label.${id}`,
        `must be a string, got ${JSON.stringify(name)}`,
      );
    labels[index] = name;
  }
  if (raw.num_labels !== undefined && raw.num_labels !== labels.length)
    throw new ConfigError(
      file,
      'num_labels',
      `is ${String(raw.num_labels)} but id2label has ${labels.length} entries`,
    );
  return labels;
}

function parseLabel2id(raw: Record<string, unknown>, labels: string[], file: string) {
  const given = raw.label2id;
  const label2id: Record<string, number> = {};
  if (given === undefined || given === null) {
    labels.forEach((name, id) => (label2id[name] = id));
    return label2id;
  }
  if (typeof given !== 'object' || Array.isArray(given))
    throw new ConfigError(file, 'label2id', 'must be an object mapping label names to ids');
  for (const [name, id] of Object.entries(given as Record<string, unknown>)) {
    if (typeof id !== 'number' || labels[id] !== name)
      throw new ConfigError(
        file,
        `label2id.${name}`,
        `is ${JSON.stringify(id)}, which disagrees with id2label`,
      );
    label2id[name] = id;
  }
  return label2id;
}

/** Validates a parsed config.json object; `file` names it in errors. */
export function parseBertConfig(json: unknown, file: string): BertConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    throw new ConfigError(file, '(root)', 'must be a JSON object');
  const raw = json as Record<string, unknown>;
  if (raw.model_type !== undefined && raw.model_type !== 'bert')
    throw new ConfigError(
      file,
      'model_type',
      `is ${JSON.stringify(raw.model_type)}; only "bert" is supported`,
    );
  const positionType = raw.position_embedding_type ?? 'absolute';
  if (positionType !== 'absolute')
    throw new ConfigError(
      file,
      'position_embedding_type',
      `is ${JSON.stringify(positionType)}; only "absolute" is supported`,
    );
  const hiddenAct = raw.hidden_act ?? DEFAULTS.hidden_act;
  if (typeof hiddenAct !== 'string' || !(HIDDEN_ACTS as readonly string[]).includes(hiddenAct))
    throw new ConfigError(
      file,
      'hidden_act',
      `is ${JSON.stringify(hiddenAct)}; supported: ${HIDDEN_ACTS.join(', ')}`,
    );
  const hiddenSize = positiveInt(raw, 'hidden_size', file);
  const numAttentionHeads = positiveInt(raw, 'num_attention_heads', file);
  if (hiddenSize % numAttentionHeads !== 0)
    throw new ConfigError(
      file,
      'num_attention_heads',
      `(${numAttentionHeads}) must divide hidden_size (${hiddenSize})`,
    );
  const padTokenId = raw.pad_token_id ?? DEFAULTS.pad_token_id;
  if (typeof padTokenId !== 'number' || !Number.isSafeInteger(padTokenId) || padTokenId < 0)
    throw new ConfigError(
      file,
      'pad_token_id',
      `must be a non-negative integer, got ${JSON.stringify(padTokenId)}`,
    );
  const hiddenDropoutProb = probability(
    raw,
    'hidden_dropout_prob',
    DEFAULTS.hidden_dropout_prob,
    file,
  );
  const classifierDropout =
    raw.classifier_dropout === undefined || raw.classifier_dropout === null
      ? null
      : probability(raw, 'classifier_dropout', 0, file);
  const id2label = parseLabels(raw, file);
  return {
    vocabSize: positiveInt(raw, 'vocab_size', file),
    hiddenSize,
    numHiddenLayers: positiveInt(raw, 'num_hidden_layers', file),
    numAttentionHeads,
    intermediateSize: positiveInt(raw, 'intermediate_size', file),
    hiddenAct: hiddenAct as HiddenAct,
    hiddenDropoutProb,
    attentionProbsDropoutProb: probability(
      raw,
      'attention_probs_dropout_prob',
      DEFAULTS.attention_probs_dropout_prob,
      file,
    ),
    maxPositionEmbeddings: positiveInt(raw, 'max_position_embeddings', file),
    typeVocabSize: positiveInt(raw, 'type_vocab_size', file),
    layerNormEps: positiveNumber(raw, 'layer_norm_eps', DEFAULTS.layer_norm_eps, file),
    initializerRange: positiveNumber(raw, 'initializer_range', DEFAULTS.initializer_range, file),
    classifierDropout,
    padTokenId,
    id2label,
    label2id: parseLabel2id(raw, id2label, file),
    raw: { ...raw },
  };
}

/** Reads and validates `config.json` at `path`. */
export async function readBertConfig(path: string): Promise<BertConfig> {
  let text: string;
  try {
    text = readBoundedFileSync(path).toString('utf8');
  } catch (error) {
    throw new ConfigError(path, '(file)', `cannot be read: ${(error as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(path, '(root)', `is not valid JSON: ${(error as Error).message}`);
  }
  return parseBertConfig(json, path);
}

/** A config with new labels (for fine-tuning on a tag set): id2label/label2id replaced. */
export function withLabels(config: BertConfig, labels: readonly string[]): BertConfig {
  const label2id: Record<string, number> = {};
  labels.forEach((name, id) => (label2id[name] = id));
  return { ...config, id2label: [...labels], label2id };
}

/** The config.json object HF writes for this config (unknown original fields kept). */
export function bertConfigToJson(
  config: BertConfig,
  architectures: string[] = ['BertForTokenClassification'],
): Record<string, unknown> {
  const id2label: Record<string, string> = {};
  config.id2label.forEach((name, id) => (id2label[String(id)] = name));
  const { num_labels: _numLabels, ...rest } = config.raw;
  return {
    ...rest,
    architectures,
    model_type: 'bert',
    vocab_size: config.vocabSize,
    hidden_size: config.hiddenSize,
    num_hidden_layers: config.numHiddenLayers,
    num_attention_heads: config.numAttentionHeads,
    intermediate_size: config.intermediateSize,
    hidden_act: config.hiddenAct,
    hidden_dropout_prob: config.hiddenDropoutProb,
    attention_probs_dropout_prob: config.attentionProbsDropoutProb,
    max_position_embeddings: config.maxPositionEmbeddings,
    type_vocab_size: config.typeVocabSize,
    layer_norm_eps: config.layerNormEps,
    initializer_range: config.initializerRange,
    classifier_dropout: config.classifierDropout,
    pad_token_id: config.padTokenId,
    position_embedding_type: 'absolute',
    id2label,
    label2id: { ...config.label2id },
  };
}
