/**
 * The device buffers of one forward/backward at batch B x length T, as byte offsets into one
 * allocation: what each layer keeps for its backward, and the scratch shared by all layers.
 * Sizes are a pure function of the dimensions (unit-tested without a GPU).
 */
import type { CudaBertDims } from './dims.js';

/** Buffers kept per encoder layer for the backward. */
export const LAYER_BUFFERS = [
  'heads',
  'probs',
  'context',
  'pre1',
  'mean1',
  'rstd1',
  'h1',
  'interPre',
  'inter',
  'pre2',
  'mean2',
  'rstd2',
] as const;
/** One of them. */
export type LayerBuffer = (typeof LAYER_BUFFERS)[number];

/** Buffers not tied to a layer (inputs, embeddings, classifier, scratch). */
export const SHARED_BUFFERS = [
  'ids',
  'mask',
  'labels',
  'embPre',
  'embMean',
  'embRstd',
  'qkv',
  'scores',
  'ctxHeads',
  'dense',
  'clsIn',
  'logits',
  'logits32',
  'rowLoss',
  'predictions',
  'dLogits',
  'dClsIn',
  'dHiddenA',
  'dHiddenB',
  'dH1',
  'dA',
  'dInter',
  'dCtx',
  'dCtxHeads',
  'dScores',
  'dHeads',
  'dQkv',
] as const;
/** One of them. */
export type SharedBuffer = (typeof SHARED_BUFFERS)[number];

const ALIGN = 256;

/** Byte offsets of every buffer for one (B, T), and the total. */
export interface ActivationPlan {
  batchSize: number;
  seqLen: number;
  totalBytes: number;
  shared: Record<SharedBuffer, number>;
  /** hidden[0] = embeddings output, hidden[l + 1] = layer l's output. */
  hidden: number[];
  layers: Record<LayerBuffer, number>[];
}

/** Element counts per buffer and their element sizes (floatX = `xBytes`). */
export function planActivations(
  dims: CudaBertDims,
  batchSize: number,
  seqLen: number,
  xBytes: number,
): ActivationPlan {
  const n = batchSize * seqLen;
  const { hiddenSize: h, intermediateSize: i, numHeads: nh, numLabels: l } = dims;
  const att = batchSize * nh * seqLen * seqLen;
  let offset = 0;
  const take = (count: number, bytes: number) => {
    const at = offset;
    offset += Math.ceil((count * bytes) / ALIGN) * ALIGN;
    return at;
  };
  const sharedSizes: Record<SharedBuffer, [number, number]> = {
    ids: [n, 4],
    mask: [n, 4],
    labels: [n, 4],
    embPre: [n * h, xBytes],
    embMean: [n, 4],
    embRstd: [n, 4],
    qkv: [3 * n * h, xBytes],
    scores: [att, xBytes],
    ctxHeads: [n * h, xBytes],
    dense: [n * h, xBytes],
    clsIn: [n * h, xBytes],
    logits: [n * l, xBytes],
    logits32: [n * l, 4],
    rowLoss: [n, 4],
    predictions: [n, 4],
    dLogits: [n * l, xBytes],
    dClsIn: [n * h, xBytes],
    dHiddenA: [n * h, xBytes],
    dHiddenB: [n * h, xBytes],
    dH1: [n * h, xBytes],
    dA: [n * h, xBytes],
    dInter: [n * i, xBytes],
    dCtx: [n * h, xBytes],
    dCtxHeads: [n * h, xBytes],
    dScores: [att, xBytes],
    dHeads: [3 * n * h, xBytes],
    dQkv: [3 * n * h, xBytes],
  };
  const shared = {} as Record<SharedBuffer, number>;
  for (const name of SHARED_BUFFERS) shared[name] = take(...sharedSizes[name]);
  const layerSizes: Record<LayerBuffer, [number, number]> = {
    heads: [3 * n * h, xBytes],
    probs: [att, xBytes],
    context: [n * h, xBytes],
    pre1: [n * h, xBytes],
    mean1: [n, 4],
    rstd1: [n, 4],
    h1: [n * h, xBytes],
    interPre: [n * i, xBytes],
    inter: [n * i, xBytes],
    pre2: [n * h, xBytes],
    mean2: [n, 4],
    rstd2: [n, 4],
  };
  const hidden = [take(n * h, xBytes)];
  const layers: Record<LayerBuffer, number>[] = [];
  for (let layer = 0; layer < dims.numLayers; layer++) {
    const buffers = {} as Record<LayerBuffer, number>;
    for (const name of LAYER_BUFFERS) buffers[name] = take(...layerSizes[name]);
    layers.push(buffers);
    hidden.push(take(n * h, xBytes));
  }
  return { batchSize, seqLen, totalBytes: offset, shared, hidden, layers };
}
