import assert from 'node:assert/strict';
import { test } from 'node:test';
// The per-value reference that reduce-kernels.test.ts checks the SIMD conversions against,
// checked here against the IEEE definitions (known patterns, nearest value, ties to even).
import {
  bf16BitsToFloat32,
  float32ToBf16Bits,
  float32ToFp16Bits,
  fp16BitsToFloat32,
} from './support/half-reference.js';

test('fp16 encoding maps known values to their IEEE binary16 bit patterns', () => {
  const cases: Array<[number, number]> = [
    [0, 0x0000],
    [-0, 0x8000],
    [1, 0x3c00],
    [-2, 0xc000],
    [65504, 0x7bff],
    [65520, 0x7c00], // halfway to the next binade: rounds to even = overflow to Inf
    [Infinity, 0x7c00],
    [2 ** -24, 0x0001], // smallest subnormal
    [2 ** -25, 0x0000], // tie between 0 and the smallest subnormal: even is 0
    [3 * 2 ** -25, 0x0002], // tie between 1 and 2 subnormal steps: even is 2
    [2 ** -14, 0x0400], // smallest normal
    [1 + 2 ** -11, 0x3c00], // tie: stays on the even mantissa
    [1 + 3 * 2 ** -11, 0x3c02], // tie: rounds up to the even mantissa
    [0.1, 0x2e66],
  ];
  for (const [value, bits] of cases) assert.equal(float32ToFp16Bits(value), bits, `fp16(${value})`);
  assert.ok(Number.isNaN(fp16BitsToFloat32(float32ToFp16Bits(NaN))));
});

test('every finite fp16 value survives decode then encode unchanged', () => {
  for (let bits = 0; bits < 0x10000; bits++) {
    if ((bits & 0x7c00) === 0x7c00) continue;
    assert.equal(float32ToFp16Bits(fp16BitsToFloat32(bits)), bits);
  }
});

test('fp16 and bf16 encoding pick the nearest representable value, ties to even', () => {
  const f = new Float32Array(1);
  const u = new Uint32Array(f.buffer);
  let state = 12345;
  for (let k = 0; k < 20000; k++) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    u[0] = (state & 0x807fffff) | ((((state >>> 23) % 40) + 100) << 23); // exponents around fp16's range
    const x = f[0];
    for (const [encode, decode] of [
      [float32ToFp16Bits, fp16BitsToFloat32],
      [float32ToBf16Bits, bf16BitsToFloat32],
    ] as const) {
      const bits = encode(x);
      const got = decode(bits);
      const err = Math.abs(got - x);
      for (const other of [bits - 1, bits + 1]) {
        const alt = decode(other & 0xffff);
        if (!Number.isFinite(alt) || Math.sign(alt) !== Math.sign(got)) continue;
        const altErr = Math.abs(alt - x);
        assert.ok(
          err < altErr || (err === altErr && (bits & 1) === 0),
          `x=${x} bits=${bits} alt=${other}`,
        );
      }
    }
  }
});

test('bf16 keeps the float32 exponent range and rounds the mantissa to 8 bits', () => {
  assert.equal(float32ToBf16Bits(1), 0x3f80);
  assert.equal(float32ToBf16Bits(-1.5), 0xbfc0);
  assert.equal(float32ToBf16Bits(1 + 2 ** -8), 0x3f80); // tie to even
  assert.equal(float32ToBf16Bits(1 + 3 * 2 ** -8), 0x3f82);
  const big = bf16BitsToFloat32(float32ToBf16Bits(3e38));
  assert.ok(Number.isFinite(big) && Math.abs(big - 3e38) / 3e38 < 2 ** -8);
  assert.ok(Number.isNaN(bf16BitsToFloat32(float32ToBf16Bits(NaN))));
  assert.equal(bf16BitsToFloat32(float32ToBf16Bits(1 + 2 ** -10)), 1);
});
