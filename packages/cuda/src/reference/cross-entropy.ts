/** Float64 reference of classifier.cu: per-row cross-entropy with ignore index -100, its gradient, argmax. */

/** rowLoss [N], dlogits [N, L] (times gradScale), predictions [N]. */
export function crossEntropy(
  logits: ArrayLike<number>,
  labels: ArrayLike<number>,
  n: number,
  l: number,
  gradScale: number,
): { rowLoss: Float64Array; dlogits: Float64Array; predictions: Int32Array } {
  const rowLoss = new Float64Array(n);
  const dlogits = new Float64Array(n * l);
  const predictions = new Int32Array(n);
  for (let r = 0; r < n; r++) {
    let max = -Infinity;
    for (let c = 0; c < l; c++)
      if (logits[r * l + c]! > max) {
        max = logits[r * l + c]!;
        predictions[r] = c;
      }
    let sum = 0;
    for (let c = 0; c < l; c++) sum += Math.exp(logits[r * l + c]! - max);
    const logSum = max + Math.log(sum);
    const label = labels[r]!;
    if (label === -100) continue;
    rowLoss[r] = logSum - logits[r * l + label]!;
    for (let c = 0; c < l; c++)
      dlogits[r * l + c] =
        (Math.exp(logits[r * l + c]! - logSum) - (c === label ? 1 : 0)) * gradScale;
  }
  return { rowLoss, dlogits, predictions };
}
