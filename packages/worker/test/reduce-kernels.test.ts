import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mulberry32 } from '@ner-launch/common';
import { copyPiece, encodeHalf, reducePiece, roundToHalf } from '../src/reduce-kernels.js';
import {
  bf16BitsToFloat32,
  float32ToBf16Bits,
  float32ToFp16Bits,
  fp16BitsToFloat32,
} from './support/half-reference.js';

const CHUNK = 16 * 1024;
const bytesOf = (a: Float32Array | Uint16Array): Uint8Array =>
  new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
const bits = (a: Float32Array): Uint32Array => new Uint32Array(a.buffer, a.byteOffset, a.length);

/** Random float32 bit patterns: every exponent, both signs, subnormals, infinities, NaNs. */
function randomFloats(length: number, seed: number): Float32Array {
  const random = mulberry32(seed);
  const words = new Uint32Array(length).map(() => Math.floor(random() * 2 ** 32));
  return new Float32Array(words.buffer);
}

/** `bytes` at an odd offset of a larger buffer, as a payload may arrive on a socket. */
function misaligned(bytes: Uint8Array): Uint8Array {
  const holder = new Uint8Array(bytes.byteLength + 1);
  holder.set(bytes, 1);
  return holder.subarray(1);
}

function assertSameValues(got: Float32Array, want: Float32Array, what: string): void {
  for (let i = 0; i < want.length; i++) {
    if (Number.isNaN(want[i])) assert.ok(Number.isNaN(got[i]), `${what} [${i}]`);
    else if (bits(got)[i] !== bits(want)[i]) assert.fail(`${what} [${i}]: ${got[i]} vs ${want[i]}`);
  }
}

const reference = {
  fp16: { encode: float32ToFp16Bits, decode: fp16BitsToFloat32 },
  bf16: { encode: float32ToBf16Bits, decode: bf16BitsToFloat32 },
} as const;

test('the SIMD reduction gives the bits of the scalar float32 add (incoming + block), NaNs aside, for lengths around the chunk and lane sizes, aligned or not', () => {
  for (const length of [0, 1, 3, 4, 15, 16, 17, 1000, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 5]) {
    const block = randomFloats(length, length + 1);
    const incoming = randomFloats(length, length + 2);
    // Exact cancellations and signed zeros among the random words.
    for (let i = 0; i < length; i += 7) incoming[i] = -block[i];
    for (let i = 3; i < length; i += 11) block[i] = -0;
    const want = block.map((b, i) => incoming[i] + b);
    for (const payload of [bytesOf(incoming), misaligned(bytesOf(incoming))]) {
      const got = block.slice();
      reducePiece(got, payload, 'fp32');
      assertSameValues(got, want, `length ${length}, offset ${payload.byteOffset}`);
    }
  }
});

test('a mean’s last step divides in float32 as JavaScript does; the result also lands in `out`, and nothing past the piece is touched', () => {
  const random = mulberry32(3);
  const length = 40_000;
  const block = new Float32Array(length + 8).map(() => random() - 0.5);
  const incoming = new Float32Array(length).map(() => random() - 0.5);
  const out = new Uint8Array(length * 4 + 32).fill(7);
  const want = block.slice(0, length).map((b, i) => Math.fround(incoming[i] + b) / 3);
  const tail = block.slice(length);
  reducePiece(block, bytesOf(incoming), 'fp32', { divisor: 3, out });
  assertSameValues(block.subarray(0, length), want, 'block');
  assertSameValues(new Float32Array(out.buffer, 0, length), want, 'out');
  assert.deepEqual(block.subarray(length), tail);
  assert.ok(out.subarray(length * 4).every((v) => v === 7));
});

test('fp16 and bf16 encoding give the scalar reference’s bits for every exponent, sign and rounding tie (NaN: a quiet NaN)', () => {
  const lows = [
    0, 1, 0x0fff, 0x1000, 0x1001, 0x1fff, 0x2000, 0x2001, 0x3fff, 0x4000, 0x4001, 0x7fff, 0x8000,
    0x8001, 0xffff,
  ];
  const patterns = new Uint32Array(65536 * lows.length);
  let i = 0;
  for (let high = 0; high < 65536; high++)
    for (const low of lows) patterns[i++] = high * 65536 + low;
  const values = new Float32Array(patterns.buffer);
  for (const format of ['fp16', 'bf16'] as const) {
    const words = new Uint16Array(values.length);
    encodeHalf(values, words, format);
    for (let k = 0; k < values.length; k++) {
      const want = reference[format].encode(values[k]);
      if (words[k] !== want)
        assert.fail(
          `${format}: 0x${patterns[k].toString(16)} -> 0x${words[k].toString(16)}, want 0x${want.toString(16)}`,
        );
    }
  }
});

test('an all-gather piece in fp16 or bf16 decodes every word to the scalar reference’s value and re-encodes it into `out`; rounding in place is encode then decode', () => {
  const all = new Uint16Array(65536).map((_, w) => w);
  for (const format of ['fp16', 'bf16'] as const) {
    const values = new Float32Array(65536);
    const out = new Uint8Array(65536 * 2);
    copyPiece(values, misaligned(bytesOf(all)), format, out);
    const want = Float32Array.from(all, (w) => reference[format].decode(w));
    assertSameValues(values, want, `${format} decode`);
    const reencoded = new Uint16Array(out.buffer);
    for (let w = 0; w < 65536; w++)
      assert.equal(
        reencoded[w],
        reference[format].encode(values[w]),
        `${format} 0x${w.toString(16)}`,
      );
    const data = randomFloats(50_003, 9);
    const rounded = data.slice();
    roundToHalf(rounded, format);
    const wantRounded = data.map((x) => reference[format].decode(reference[format].encode(x)));
    assertSameValues(rounded, wantRounded, `${format} round`);
  }
});

test('a half-precision piece is decoded exactly and added in float32; on the last step the owner keeps the rounded sum it sends', () => {
  for (const format of ['fp16', 'bf16'] as const) {
    const random = mulberry32(format === 'fp16' ? 11 : 12);
    const length = 3 * CHUNK + 13;
    const words = new Uint16Array(length).map(() => Math.floor(random() * 65536));
    const block = new Float32Array(length).map(() => (random() - 0.5) * 100);
    const sums = block.map((b, i) => reference[format].decode(words[i]) + b);
    const added = block.slice();
    reducePiece(added, bytesOf(words), format);
    assertSameValues(added, sums, `${format} add`);
    const last = block.slice();
    const out = new Uint8Array(length * 2);
    reducePiece(last, bytesOf(words), format, { divisor: 4, round: true, out });
    const sent = new Uint16Array(out.buffer);
    for (let i = 0; i < length; i++) {
      const mean = Math.fround(sums[i] / 4);
      // A NaN may keep its sign; any NaN word will do.
      if (Number.isNaN(mean)) assert.ok(Number.isNaN(reference[format].decode(sent[i])));
      else assert.equal(sent[i], reference[format].encode(mean), `${format} sent word [${i}]`);
    }
    assertSameValues(
      last,
      Float32Array.from(sent, (w) => reference[format].decode(w)),
      `${format} kept`,
    );
  }
});

test('a piece longer than its block or output, or not whole elements, is refused', () => {
  assert.throws(() => reducePiece(new Float32Array(3), new Uint8Array(16), 'fp32'), RangeError);
  assert.throws(() => reducePiece(new Float32Array(4), new Uint8Array(6), 'fp32'), RangeError);
  assert.throws(
    () => copyPiece(new Float32Array(8), new Uint8Array(16), 'fp16', new Uint8Array(8)),
    RangeError,
  );
});
