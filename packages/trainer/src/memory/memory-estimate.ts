/**
 * Per-process peak memory of a training or evaluation batch, estimated from the model config
 * and the batch shape (issue 7). On wasm everything tfjs holds lives in one WebAssembly heap
 * (at most 4 GiB); the optimizer moments, gradient accumulators and all-reduce buffers are host
 * Float32Arrays outside it and are reported separately.
 *
 * The heap terms follow what tfjs really keeps: during one `tf.grads` call every tensor an op
 * saves for its gradient *and* every intermediate gradient stays alive until the call returns,
 * while a forward pass without gradients frees each layer's intermediates when the layer ends
 * (so, like a recomputed step, it holds one layer's at a time). The per-layer
 * coefficients (bytes per token·hidden, token·intermediate, attention score and weight
 * element) were measured on this code with `tf.profile` over several shapes
 * (bench/memory-calibration.ts) and are rounded up.
 */
import type { BertConfig } from '../model/config.js';
import { parameterCounts } from '../model/model-size.js';
import { WEIGHT_CACHE_BUDGET_BYTES } from '../model/weight-transposes.js';

/** What runs on the batch. */
export type MemoryMode = 'train' | 'eval';

/** The shape and execution of one batch. */
export interface BatchShape {
  /** Sentences processed together (a micro-batch when accumulating). */
  rows: number;
  /** Padded sequence length (the longest batch after bucketing). */
  seqLen: number;
  mode: MemoryMode;
  /** Per-layer activation recomputation (training only). */
  recompute: boolean;
}

/** Estimated bytes by component; `heapBytes` is what must fit the backend limit. */
export interface MemoryEstimate {
  parameterBytes: number;
  /**
   * Parameter-sized tensors: those a step creates (transposed weight copies, weight gradients)
   * and the transposes cached between parameter updates.
   */
  weightWorkBytes: number;
  activationBytes: number;
  /** Fixed heap use (wasm runtime, XNNPACK caches) plus allocator slack. */
  overheadBytes: number;
  /** Total expected peak of the tfjs heap. */
  heapBytes: number;
  /** Host memory outside the heap: AdamW moments and gradient buffers (training). */
  hostBytes: number;
}

const FLOAT = 4;
const MiB = 2 ** 20;

/**
 * Bytes per element kind, per encoder layer, measured (see file comment). `train` is one
 * `tf.grads` over the whole model; `recompute` the same for a single layer (plus the stored
 * layer inputs, counted separately); `eval` one layer of a forward pass.
 */
export const LAYER_COEFFICIENTS = {
  train: { tokenHidden: 460, tokenIntermediate: 104, attention: 62, weight: 16.5 },
  recompute: { tokenHidden: 460, tokenIntermediate: 104, attention: 62, weight: 16.5 },
  eval: { tokenHidden: 172, tokenIntermediate: 37, attention: 17, weight: 4 },
} as const;

/** Embeddings, classifier head and loss, bytes per token·hidden (measured likewise). */
export const NON_LAYER_TOKEN_HIDDEN = { train: 165, eval: 43 } as const;

/**
 * Fixed heap use beside tensors (runtime, XNNPACK caches). Measured heaps came out at 0.93-1.09x
 * the tf.profile tensor peak (some tensors share memory; the heap grows in steps), so no
 * proportional slack is added; the plan's headroom covers the rest.
 */
export const HEAP_BASE_BYTES = 24 * MiB;
export const HEAP_SLACK = 0;

/** Bytes the weight-transpose cache holds for `config`: two copies of each matrix, capped. */
function cachedTransposeBytes(config: BertConfig, perLayerWeights: number): number {
  const matrices =
    config.numHiddenLayers * perLayerWeights + config.hiddenSize * config.id2label.length;
  return Math.min(WEIGHT_CACHE_BUDGET_BYTES, 2 * matrices * FLOAT);
}

/** Estimated peak memory of one batch of `shape` for `config`. */
export function estimateMemory(config: BertConfig, shape: BatchShape): MemoryEstimate {
  const { total, wordEmbeddings, perLayerWeights } = parameterCounts(config);
  const h = config.hiddenSize;
  const tokens = shape.rows * shape.seqLen;
  const scores = shape.rows * config.numAttentionHeads * shape.seqLen * shape.seqLen;
  const kind = shape.mode === 'eval' ? 'eval' : shape.recompute ? 'recompute' : 'train';
  const c = LAYER_COEFFICIENTS[kind];
  // Only one layer's tensors are alive at a time when recomputing or without gradients.
  const liveLayers = kind === 'train' ? config.numHiddenLayers : 1;
  const perLayer =
    c.tokenHidden * tokens * h +
    c.tokenIntermediate * tokens * config.intermediateSize +
    c.attention * scores;
  const storedInputs = kind === 'recompute' ? (config.numHiddenLayers + 2) * tokens * h * FLOAT : 0;
  // Recomputed, the embeddings and head are differentiated in their own segments, never
  // alongside a layer's.
  const nonLayer = kind === 'recompute' ? 0 : NON_LAYER_TOKEN_HIDDEN[shape.mode] * tokens * h;
  const activationBytes = liveLayers * perLayer + storedInputs + nonLayer;
  // Plus the transposed weight copies kept between parameter updates (weight-transposes.ts).
  const weightWorkBytes =
    liveLayers * c.weight * perLayerWeights + cachedTransposeBytes(config, perLayerWeights);
  const parameterBytes = total * FLOAT;
  const tensors = parameterBytes + weightWorkBytes + activationBytes;
  const overheadBytes = HEAP_BASE_BYTES + HEAP_SLACK * tensors;
  const dense = total - wordEmbeddings;
  const hostBytes =
    shape.mode === 'train'
      ? // AdamW moments (2 per parameter) + gradient buffers (dense + scattered word rows).
        (2 * total + dense + wordEmbeddings) * FLOAT
      : 0;
  return {
    parameterBytes,
    weightWorkBytes,
    activationBytes,
    overheadBytes,
    heapBytes: tensors + overheadBytes,
    hostBytes,
  };
}
