/** allclose with stated tolerances, naming the first element out of bounds. */
import assert from 'node:assert/strict';

/** Asserts |a - b| <= atol + rtol |b| element-wise. */
export function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  what: string,
  atol = 1e-5,
  rtol = 1e-4,
): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const b = expected[i]!;
    if (!(Math.abs(a - b) <= atol + rtol * Math.abs(b)))
      assert.fail(`${what}[${i}] = ${a}, expected ${b} (atol ${atol}, rtol ${rtol})`);
  }
}

/** Deterministic values in [-scale, scale). */
export function seeded(length: number, seed: number, scale = 1): Float64Array {
  let state = seed >>> 0;
  return Float64Array.from({ length }, () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return (state / 2 ** 32 - 0.5) * 2 * scale;
  });
}
