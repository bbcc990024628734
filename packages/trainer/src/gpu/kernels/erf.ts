/**
 * erf for the kernels: a float64 reference for the CPU checks and the WGSL function the
 * GELU kernels use (WGSL has no erf built-in).
 */

/**
 * erf(x) in float64 to ~1e-15: erf(x) = 2/√π · e^(−x²) · Σ 2ⁿx^(2n+1)/(1·3···(2n+1)), a
 * series of positive terms (no cancellation); |x| ≥ 6 rounds to ±1 in float64 anyway.
 */
export function erf64(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const a = Math.abs(x);
  if (a >= 6) return Math.sign(x);
  let term = a;
  let sum = a;
  for (let n = 1; n < 200; n++) {
    term *= (2 * a * a) / (2 * n + 1);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * Math.exp(-a * a) * sum;
}

/**
 * WGSL erf, Abramowitz & Stegun 7.1.26 (absolute error ≤ 1.5e-7, below float32's resolution
 * of erf near ±1), shared by the GELU kernels.
 */
export const WGSL_ERF = `
  fn nerErf(x : f32) -> f32 {
    let a = abs(x);
    let t = 1.0 / (1.0 + 0.3275911 * a);
    let y = 1.0 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * exp(-a * a);
    return select(y, -y, x < 0.0);
  }
`;
