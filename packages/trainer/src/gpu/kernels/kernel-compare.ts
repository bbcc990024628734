/**
 * Deterministic inputs and the error measure the kernel checks share (the CPU tests here and
 * the GPU check script there), so both judge kernels the same way.
 */

/** `n` values uniform in [-scale, scale) from a 32-bit LCG seeded by `seed`. */
export function randomArray(n: number, seed: number, scale = 1): Float32Array {
  let s = (seed * 2654435761) >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = ((s / 2 ** 32) * 2 - 1) * scale;
  }
  return out;
}

/**
 * Normwise relative error max|a − b| / max|b| (b the reference). Elementwise relative error
 * is meaningless where values cancel to ~0 (GELU of negative inputs, LayerNorm gradients).
 */
export function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length)
    throw new RangeError(`compared arrays differ in length: ${a.length} vs ${b.length}`);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  if (Number.isNaN(diff)) return NaN;
  return scale === 0 ? diff : diff / scale;
}
