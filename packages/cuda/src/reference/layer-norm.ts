/** Float64 reference of layernorm.cu / embeddings.cu's LayerNorm rows (torch.nn.LayerNorm maths). */

/** Row-wise LayerNorm of x [N, H]; returns the output and each row's mean and 1/std. */
export function layerNormForward(
  x: ArrayLike<number>,
  gamma: ArrayLike<number>,
  beta: ArrayLike<number>,
  n: number,
  h: number,
  eps: number,
): { out: Float64Array; mean: Float64Array; rstd: Float64Array } {
  const out = new Float64Array(n * h);
  const mean = new Float64Array(n);
  const rstd = new Float64Array(n);
  for (let r = 0; r < n; r++) {
    let s = 0;
    for (let j = 0; j < h; j++) s += x[r * h + j]!;
    const m = s / h;
    let v = 0;
    for (let j = 0; j < h; j++) v += (x[r * h + j]! - m) ** 2;
    const rs = 1 / Math.sqrt(v / h + eps);
    mean[r] = m;
    rstd[r] = rs;
    for (let j = 0; j < h; j++) out[r * h + j] = (x[r * h + j]! - m) * rs * gamma[j]! + beta[j]!;
  }
  return { out, mean, rstd };
}

/** Gradients of layerNormForward for output gradient dy. */
export function layerNormBackward(
  dy: ArrayLike<number>,
  x: ArrayLike<number>,
  gamma: ArrayLike<number>,
  n: number,
  h: number,
  eps: number,
): { dx: Float64Array; dgamma: Float64Array; dbeta: Float64Array } {
  const { mean, rstd } = layerNormForward(x, gamma, new Float64Array(h), n, h, eps);
  const dx = new Float64Array(n * h);
  const dgamma = new Float64Array(h);
  const dbeta = new Float64Array(h);
  for (let r = 0; r < n; r++) {
    let s1 = 0;
    let s2 = 0;
    for (let j = 0; j < h; j++) {
      const g = dy[r * h + j]! * gamma[j]!;
      const xhat = (x[r * h + j]! - mean[r]!) * rstd[r]!;
      s1 += g;
      s2 += g * xhat;
      dgamma[j]! += dy[r * h + j]! * xhat;
      dbeta[j]! += dy[r * h + j]!;
    }
    for (let j = 0; j < h; j++) {
      const xhat = (x[r * h + j]! - mean[r]!) * rstd[r]!;
      dx[r * h + j] = rstd[r]! * (dy[r * h + j]! * gamma[j]! - s1 / h - (xhat * s2) / h);
    }
  }
  return { dx, dgamma, dbeta };
}
