/**
 * Float64 reference of the attention core (attention.cu's softmax around the two batched GEMMs):
 * per head, probs = softmax(scale q k^T over unmasked keys), context = dropped probs v, and the
 * backward. q, k, v, context: [B, nh, T, d]; mask [B, T]; `keep` (optional) [B, nh, T, T] 1/0.
 */

/** Shapes of one attention call. */
export interface AttentionShape {
  batch: number;
  heads: number;
  length: number;
  headDim: number;
}

/** probs [B, nh, T, T] and context [B, nh, T, d]. */
export function attentionForward(
  s: AttentionShape,
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  mask: ArrayLike<number>,
  p = 0,
  keep?: ArrayLike<number>,
): { probs: Float64Array; context: Float64Array } {
  const { batch: b, heads: nh, length: t, headDim: d } = s;
  const scale = 1 / Math.sqrt(d);
  const probs = new Float64Array(b * nh * t * t);
  const context = new Float64Array(b * nh * t * d);
  for (let bh = 0; bh < b * nh; bh++) {
    const batchIndex = Math.floor(bh / nh);
    for (let i = 0; i < t; i++) {
      const row = (bh * t + i) * t;
      let max = -Infinity;
      const scores = new Float64Array(t);
      for (let j = 0; j < t; j++) {
        let dot = 0;
        for (let e = 0; e < d; e++) dot += q[(bh * t + i) * d + e]! * k[(bh * t + j) * d + e]!;
        scores[j] = dot * scale;
        if (mask[batchIndex * t + j]) max = Math.max(max, scores[j]!);
      }
      let sum = 0;
      for (let j = 0; j < t; j++) if (mask[batchIndex * t + j]) sum += Math.exp(scores[j]! - max);
      for (let j = 0; j < t; j++)
        probs[row + j] = mask[batchIndex * t + j] ? Math.exp(scores[j]! - max) / sum : 0;
      for (let e = 0; e < d; e++) {
        let acc = 0;
        for (let j = 0; j < t; j++)
          acc += dropped(probs, row + j, p, keep) * v[(bh * t + j) * d + e]!;
        context[(bh * t + i) * d + e] = acc;
      }
    }
  }
  return { probs, context };
}

function dropped(
  probs: ArrayLike<number>,
  index: number,
  p: number,
  keep?: ArrayLike<number>,
): number {
  if (!keep || p === 0) return probs[index]!;
  return keep[index] ? probs[index]! / (1 - p) : 0;
}

/** dq, dk, dv for context gradient dContext, from attentionForward's probs. */
export function attentionBackward(
  s: AttentionShape,
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  probs: ArrayLike<number>,
  dContext: ArrayLike<number>,
  p = 0,
  keep?: ArrayLike<number>,
): { dq: Float64Array; dk: Float64Array; dv: Float64Array } {
  const { batch: b, heads: nh, length: t, headDim: d } = s;
  const scale = 1 / Math.sqrt(d);
  const dq = new Float64Array(b * nh * t * d);
  const dk = new Float64Array(b * nh * t * d);
  const dv = new Float64Array(b * nh * t * d);
  for (let bh = 0; bh < b * nh; bh++)
    for (let i = 0; i < t; i++) {
      const row = (bh * t + i) * t;
      const dProbs = new Float64Array(t);
      for (let j = 0; j < t; j++) {
        let dot = 0;
        for (let e = 0; e < d; e++) {
          dot += dContext[(bh * t + i) * d + e]! * v[(bh * t + j) * d + e]!;
          dv[(bh * t + j) * d + e]! +=
            dropped(probs, row + j, p, keep) * dContext[(bh * t + i) * d + e]!;
        }
        dProbs[j] = !keep || p === 0 ? dot : keep[row + j] ? dot / (1 - p) : 0;
      }
      let s1 = 0;
      for (let j = 0; j < t; j++) s1 += dProbs[j]! * probs[row + j]!;
      for (let j = 0; j < t; j++) {
        const dScore = probs[row + j]! * (dProbs[j]! - s1) * scale;
        for (let e = 0; e < d; e++) {
          dq[(bh * t + i) * d + e]! += dScore * k[(bh * t + j) * d + e]!;
          dk[(bh * t + j) * d + e]! += dScore * q[(bh * t + i) * d + e]!;
        }
      }
    }
  return { dq, dk, dv };
}

/** attention_softmax_forward without dropout: softmax of each row of scores [B, nh, T, T] over unmasked keys. */
export function maskedSoftmax(
  scores: ArrayLike<number>,
  mask: ArrayLike<number>,
  batch: number,
  heads: number,
  length: number,
): Float64Array {
  const probs = new Float64Array(batch * heads * length * length);
  for (let row = 0; row < batch * heads * length; row++) {
    const b = Math.floor(row / (heads * length));
    let max = -Infinity;
    for (let j = 0; j < length; j++)
      if (mask[b * length + j]) max = Math.max(max, scores[row * length + j]!);
    let sum = 0;
    for (let j = 0; j < length; j++)
      if (mask[b * length + j]) sum += Math.exp(scores[row * length + j]! - max);
    for (let j = 0; j < length; j++)
      probs[row * length + j] = mask[b * length + j]
        ? Math.exp(scores[row * length + j]! - max) / sum
        : 0;
  }
  return probs;
}

/** attention_softmax_backward without dropout: dscores = probs * (dprobs - sum(dprobs * probs)) per row. */
export function softmaxBackward(
  dProbs: ArrayLike<number>,
  probs: ArrayLike<number>,
  rows: number,
  length: number,
): Float64Array {
  const out = new Float64Array(rows * length);
  for (let row = 0; row < rows; row++) {
    let s = 0;
    for (let j = 0; j < length; j++) s += dProbs[row * length + j]! * probs[row * length + j]!;
    for (let j = 0; j < length; j++)
      out[row * length + j] = probs[row * length + j]! * (dProbs[row * length + j]! - s);
  }
  return out;
}
