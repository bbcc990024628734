/** Float64 reference of activation.cu (HF ACT2FN's gelu, gelu_new, relu) and bias_backward. */
import type { HiddenAct } from '../engine/dims.js';

/** erf by Abramowitz-Stegun 7.1.26 is too coarse here: a series / continued fraction to 1e-15. */
export function erf(x: number): number {
  const t = Math.abs(x);
  if (t < 2.5) {
    // Maclaurin series: converges fast for |x| < 2.5.
    let term = t;
    let sum = t;
    for (let n = 1; n < 80; n++) {
      term *= (-t * t) / n;
      sum += term / (2 * n + 1);
    }
    return Math.sign(x) * ((2 / Math.sqrt(Math.PI)) * sum);
  }
  // Continued fraction for erfc at large |x|.
  let f = 0;
  for (let n = 60; n >= 1; n--) f = n / 2 / (t + f);
  const erfc = Math.exp(-t * t) / Math.sqrt(Math.PI) / (t + f);
  return Math.sign(x) * (1 - erfc);
}

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

/** act(x). */
export function activate(x: number, act: HiddenAct): number {
  if (act === 'gelu') return 0.5 * x * (1 + erf(x / Math.SQRT2));
  if (act === 'gelu_new')
    return 0.5 * x * (1 + Math.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x ** 3)));
  return Math.max(x, 0);
}

/** d act(x) / dx. */
export function activateGrad(x: number, act: HiddenAct): number {
  if (act === 'gelu')
    return 0.5 * (1 + erf(x / Math.SQRT2)) + (x * Math.exp(-0.5 * x * x)) / Math.sqrt(2 * Math.PI);
  if (act === 'gelu_new') {
    const t = Math.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x ** 3));
    return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * SQRT_2_OVER_PI * (1 + 3 * 0.044715 * x * x);
  }
  return x > 0 ? 1 : 0;
}

/** Column sums of dy [N, C] (a linear layer's bias gradient). */
export function biasGrad(dy: ArrayLike<number>, n: number, c: number): Float64Array {
  const out = new Float64Array(c);
  for (let r = 0; r < n; r++) for (let j = 0; j < c; j++) out[j]! += dy[r * c + j]!;
  return out;
}
