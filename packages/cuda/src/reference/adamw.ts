/** Float64 reference of adamw.cu (torch.optim.AdamW's single-tensor update) and of the global norm. */

/** One AdamW step at `step` (from 1) on copies; returns the new param and moments. */
export function adamwReference(
  param: ArrayLike<number>,
  grad: ArrayLike<number>,
  expAvg: ArrayLike<number>,
  expAvgSq: ArrayLike<number>,
  o: { lr: number; weightDecay: number; beta1: number; beta2: number; eps: number; step: number },
): { param: Float64Array; expAvg: Float64Array; expAvgSq: Float64Array } {
  const n = param.length;
  const out = {
    param: new Float64Array(n),
    expAvg: new Float64Array(n),
    expAvgSq: new Float64Array(n),
  };
  const stepSize = o.lr / (1 - o.beta1 ** o.step);
  const correction2Sqrt = Math.sqrt(1 - o.beta2 ** o.step);
  for (let i = 0; i < n; i++) {
    const g = grad[i]!;
    const m = expAvg[i]! + (1 - o.beta1) * (g - expAvg[i]!);
    const v = o.beta2 * expAvgSq[i]! + (1 - o.beta2) * g * g;
    out.expAvg[i] = m;
    out.expAvgSq[i] = v;
    out.param[i] =
      param[i]! * (1 - o.lr * o.weightDecay) -
      stepSize * (m / (Math.sqrt(v) / correction2Sqrt + o.eps));
  }
  return out;
}

/** L2 norm of all values. */
export function globalNorm(values: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i]! * values[i]!;
  return Math.sqrt(sum);
}
