/**
 * The memory a config's parameters need, checked before any weight is read or drawn: a
 * config.json describing tens of gigabytes of weights fails at once, naming the file, the
 * dimension that dominates and the limit, instead of allocating until the process dies.
 */
import { totalmem } from 'node:os';
import { formatBytes } from '@ner-launch/common';
import { ConfigError, type BertConfig } from './config.js';

/** What the parameters are needed for: inference holds them; training adds AdamW's two moments and the gradients. */
export type ModelUse = 'train' | 'eval';

/** Bytes per parameter: float32 weights, plus (training) two moments and a gradient. */
const BYTES_PER_PARAMETER: Readonly<Record<ModelUse, number>> = { eval: 4, train: 16 };

/** The share of system memory one process may plan for (as the memory plan's system limit). */
const SYSTEM_SHARE = 0.85;

/** Parameter element counts of BertForTokenClassification (pooler included). */
export function parameterCounts(config: BertConfig): {
  total: number;
  wordEmbeddings: number;
  perLayerWeights: number;
} {
  const h = config.hiddenSize;
  const i = config.intermediateSize;
  const labels = config.id2label.length;
  const perLayerWeights = 4 * h * h + 2 * h * i;
  const perLayer = perLayerWeights + 4 * h + i + h + 4 * h; // biases + two LayerNorms
  const wordEmbeddings = config.vocabSize * h;
  const embeddings =
    wordEmbeddings + config.maxPositionEmbeddings * h + config.typeVocabSize * h + 2 * h;
  const pooler = h * h + h;
  const classifier = labels * h + labels;
  return {
    total: embeddings + config.numHiddenLayers * perLayer + pooler + classifier,
    wordEmbeddings,
    perLayerWeights,
  };
}

/**
 * Throws a ConfigError when `config`'s parameters cannot fit in memory for `use`, before any
 * allocation of their size.
 */
export function checkModelSize(
  config: BertConfig,
  file: string,
  use: ModelUse,
  systemMemoryBytes: number = totalmem(),
): void {
  const counts = parameterCounts(config);
  const need = counts.total * BYTES_PER_PARAMETER[use];
  const limit = SYSTEM_SHARE * systemMemoryBytes;
  if (need <= limit) return;
  const layers = config.numHiddenLayers * counts.perLayerWeights;
  const field = layers >= counts.wordEmbeddings ? 'num_hidden_layers' : 'vocab_size';
  throw new ConfigError(
    file,
    field,
    `describes a model of ${counts.total} parameters (vocab_size ${config.vocabSize}, hidden_size ${config.hiddenSize}, num_hidden_layers ${config.numHiddenLayers}, intermediate_size ${config.intermediateSize}) needing ${formatBytes(need)} to ${use === 'train' ? 'train' : 'run'}, more than the limit of ${formatBytes(limit)} (${SYSTEM_SHARE * 100}% of this machine's ${formatBytes(systemMemoryBytes)})`,
  );
}
