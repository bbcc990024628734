import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mulberry32 } from '@ner-launch/common';
import { addInto } from '../src/reduce-kernels.js';

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
