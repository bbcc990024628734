import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mulberry32 } from '@ner-launch/common';
import {
  addHalfInto,
  addInto,
  decodeHalf,
  encodeHalf,
  roundToHalf,
} from '../src/reduce-kernels.js';
import {
  bf16BitsToFloat32,
  float32ToBf16Bits,
  float32ToFp16Bits,
  fp16BitsToFloat32,
} from './support/half-reference.js';

/** The float32 sum as JavaScript computes it (float64 add, rounded once to float32). */
function scalarAdd(block: Float32Array, incoming: Float32Array): Float32Array {
  return block.map((b, i) => incoming[i] + b);
}

const bits = (a: Float32Array): Uint32Array => new Uint32Array(a.buffer, a.byteOffset, a.length);

/** Random float32 bit patterns: every exponent, both signs, subnormals, infinities, NaNs. */
function randomFloats(length: number, seed: number): Float32Array {
  const random = mulberry32(seed);
  const words = new Uint32Array(length).map(() => Math.floor(random() * 2 ** 32));
  return new Float32Array(words.buffer);
}

test('the SIMD reduction gives the bits of the scalar float32 add, NaNs aside, for lengths around the chunk and lane sizes', () => {
  const chunk = 16 * 1024;
  for (const length of [0, 1, 3, 4, 15, 16, 17, 1000, chunk - 1, chunk, chunk + 1, 3 * chunk + 5]) {
    const block = randomFloats(length, length + 1);
    const incoming = randomFloats(length, length + 2);
    // Some exact cancellations, signed zeros and near-equal magnitudes among the random words.
    for (let i = 0; i < length; i += 7) incoming[i] = -block[i];
    for (let i = 3; i < length; i += 11) block[i] = -0;
    const want = scalarAdd(block, incoming);
    const got = block.slice();
    addInto(got, incoming);
    for (let i = 0; i < length; i++) {
      if (Number.isNaN(want[i])) assert.ok(Number.isNaN(got[i]), `[${i}] of ${length}`);
      else
        assert.equal(bits(got)[i], bits(want)[i], `[${i}] of ${length}: ${got[i]} vs ${want[i]}`);
    }
  }
});

test('with a second destination the sums land in both, and nothing past the incoming length is touched', () => {
  const random = mulberry32(3);
  const length = 40_000;
  const block = new Float32Array(length + 8).map(() => random() - 0.5);
  const incoming = new Float32Array(length).map(() => random() - 0.5);
  const also = new Float32Array(length + 8).fill(7);
  const want = block.slice(0, length).map((b, i) => incoming[i] + b);
  const tail = block.slice(length);
  addInto(block, incoming, also);
  assert.deepEqual(block.subarray(0, length), want);
  assert.deepEqual(also.subarray(0, length), want);
  assert.deepEqual(block.subarray(length), tail);
  assert.deepEqual(also.subarray(length), new Float32Array(8).fill(7));
});

test('a block or destination shorter than the incoming values is refused', () => {
  assert.throws(() => addInto(new Float32Array(3), new Float32Array(4)), RangeError);
  assert.throws(
    () => addInto(new Float32Array(4), new Float32Array(4), new Float32Array(2)),
    RangeError,
  );
});

/** Float32 bit patterns: every upper half with lower halves at and around fp16/bf16 rounding ties. */
function roundingPatterns(): Uint32Array {
  const lows = [
    0, 1, 0x0fff, 0x1000, 0x1001, 0x1fff, 0x2000, 0x2001, 0x3fff, 0x4000, 0x4001, 0x7fff, 0x8000,
    0x8001, 0xffff,
  ];
  const out = new Uint32Array(65536 * lows.length);
  let i = 0;
  for (let high = 0; high < 65536; high++) for (const low of lows) out[i++] = high * 65536 + low;
  return out;
}

const reference = {
  fp16: { encode: float32ToFp16Bits, decode: fp16BitsToFloat32 },
  bf16: { encode: float32ToBf16Bits, decode: bf16BitsToFloat32 },
} as const;

test('fp16 and bf16 encoding give the scalar reference’s bits for every exponent, sign and rounding tie (NaN: a quiet NaN)', () => {
  const patterns = roundingPatterns();
  const values = new Float32Array(patterns.buffer);
  for (const format of ['fp16', 'bf16'] as const) {
    const words = new Uint16Array(values.length);
    encodeHalf(values, words, format);
    for (let i = 0; i < values.length; i++) {
      const want = reference[format].encode(values[i]);
      if (words[i] !== want)
        assert.fail(
          `${format}: 0x${patterns[i].toString(16)} -> 0x${words[i].toString(16)}, want 0x${want.toString(16)}`,
        );
    }
  }
});

test('decoding every fp16 and bf16 word gives the scalar reference’s value; rounding in place is encode then decode', () => {
  const all = new Uint16Array(65536).map((_, i) => i);
  for (const format of ['fp16', 'bf16'] as const) {
    const values = new Float32Array(65536);
    decodeHalf(all, values, format);
    for (let w = 0; w < 65536; w++) {
      const want = reference[format].decode(w);
      if (Number.isNaN(want)) assert.ok(Number.isNaN(values[w]), `${format} 0x${w.toString(16)}`);
      else assert.ok(Object.is(values[w], want), `${format} 0x${w.toString(16)}: ${values[w]}`);
    }
    const data = randomFloats(50_003, 9);
    const rounded = data.slice();
    roundToHalf(rounded, format);
    for (let i = 0; i < data.length; i++) {
      const want = reference[format].decode(reference[format].encode(data[i]));
      if (Number.isNaN(want)) assert.ok(Number.isNaN(rounded[i]));
      else assert.ok(Object.is(rounded[i], want), `${format} round [${i}] ${data[i]}`);
    }
  }
});

test('adding half-precision words decodes them exactly and adds in float32', () => {
  for (const format of ['fp16', 'bf16'] as const) {
    const random = mulberry32(format === 'fp16' ? 11 : 12);
    const length = 3 * 16 * 1024 + 13;
    const words = new Uint16Array(length).map(() => Math.floor(random() * 65536));
    const block = new Float32Array(length).map(() => (random() - 0.5) * 100);
    const want = block.map((b, i) => reference[format].decode(words[i]) + b);
    addHalfInto(block, words, format);
    for (let i = 0; i < length; i++) {
      if (Number.isNaN(want[i])) assert.ok(Number.isNaN(block[i]));
      else assert.ok(Object.is(block[i], want[i]), `${format} [${i}] ${block[i]} vs ${want[i]}`);
    }
  }
});
