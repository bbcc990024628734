import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mulberry32 } from '@ner-launch/common';
import { float32ToFp16Bits, fp16BitsToFloat32 } from './support/half-reference.js';
import { blockRange, pieceRanges, ringAllReduce } from '../src/ring-allreduce.js';
import { ProtocolError } from '../src/process-group.js';
import { createMemoryRing } from '../src/ring-link.js';

/** Runs one all-reduce on every rank of an in-memory ring. */
async function allReduceInMemory(
  inputs: Float32Array[],
  op: 'sum' | 'mean',
  wire: 'fp32' | 'fp16' | 'bf16',
  pieceBytes: number,
  staging = false,
): Promise<Float32Array[]> {
  const links = createMemoryRing(inputs.length, pieceBytes, { staging });
  const outputs = inputs.map((x) => x.slice());
  await Promise.all(links.map((link, r) => ringAllReduce(link, 0, outputs[r], op, wire)));
  return outputs;
}

const sameBits = (a: Float32Array, b: Float32Array): boolean =>
  Buffer.compare(
    Buffer.from(a.buffer, a.byteOffset, a.byteLength),
    Buffer.from(b.buffer, b.byteOffset, b.byteLength),
  ) === 0;

test('blocks cover the array exactly once, in order, with sizes differing by at most one', () => {
  for (const [length, n] of [
    [0, 3],
    [1, 4],
    [10, 3],
    [1000, 7],
  ]) {
    let next = 0;
    for (let c = 0; c < n; c++) {
      const [s, e] = blockRange(length, n, c);
      assert.equal(s, next);
      assert.ok(e - s === Math.floor(length / n) || e - s === Math.ceil(length / n));
      next = e;
    }
    assert.equal(next, length);
  }
  assert.deepEqual(pieceRanges(3, 10, 3), [
    [3, 6],
    [6, 9],
    [9, 10],
  ]);
});

test('ring all-reduce over world sizes 1-7 and lengths 0, 1, N-1, N+1, 10^4 with forced small pieces sums integers exactly and identically on every rank, with pieces forwarded from the block or written in place into lent buffers', async () => {
  for (let n = 1; n <= 7; n++) {
    for (const length of [...new Set([0, 1, Math.max(0, n - 1), n + 1, 10_000])]) {
      for (const pieceBytes of [4, 12, 4096, 1 << 20]) {
        if (length === 10_000 && pieceBytes < 12) continue;
        const inputs = Array.from({ length: n }, (_, r) =>
          new Float32Array(length).map((_, i) => ((i * 37 + r * 101) % 4001) - 2000),
        );
        for (const staging of [false, true]) {
          const outputs = await allReduceInMemory(inputs, 'sum', 'fp32', pieceBytes, staging);
          const label = `n=${n} length=${length} piece=${pieceBytes} staging=${staging}`;
          for (let i = 0; i < length; i++) {
            const want = inputs.reduce((acc, x) => acc + x[i], 0);
            assert.equal(outputs[0][i], want, `${label} [${i}]`);
          }
          for (const out of outputs) assert.ok(sameBits(out, outputs[0]), `${label}: ranks differ`);
        }
      }
    }
  }
});

test('ring all-reduce of 2^20+3 random values is within 1e-6 (relative to the sum of magnitudes) of a float64 sum', async () => {
  const length = (1 << 20) + 3;
  for (const n of [3, 4]) {
    const inputs = Array.from({ length: n }, (_, r) => {
      const random = mulberry32(r + 7);
      return new Float32Array(length).map(() => random() * 2 - 1);
    });
    const outputs = await allReduceInMemory(inputs, 'sum', 'fp32', 1 << 16);
    for (let i = 0; i < length; i++) {
      let exact = 0;
      let scale = 0;
      for (const x of inputs) {
        exact += x[i];
        scale += Math.abs(x[i]);
      }
      if (Math.abs(outputs[0][i] - exact) > 1e-6 * scale)
        assert.fail(`[${i}] ${outputs[0][i]} vs ${exact}`);
    }
    for (const out of outputs) assert.ok(sameBits(out, outputs[0]));
  }
});

test('mean divides the ring sum by the world size once, on the block owner', async () => {
  const inputs = [
    new Float32Array([1, 2, 3]),
    new Float32Array([2, 2, 2]),
    new Float32Array([0, 5, 1]),
  ];
  const outputs = await allReduceInMemory(inputs, 'mean', 'fp32', 4);
  for (const out of outputs) assert.deepEqual([...out], [1, 3, 2]);
});

test('fp16 and bf16 wires give bit-identical results on every rank, within half-precision error', async () => {
  for (const wire of ['fp16', 'bf16'] as const) {
    const inputs = Array.from({ length: 4 }, (_, r) => {
      const random = mulberry32(r + 99);
      return new Float32Array(5003).map(() => random() - 0.5);
    });
    const outputs = await allReduceInMemory(inputs, 'mean', wire, 256);
    for (const out of outputs) assert.ok(sameBits(out, outputs[0]), `${wire}: ranks differ`);
    const tolerance = wire === 'fp16' ? 4e-3 : 3e-2;
    for (let i = 0; i < 5003; i++) {
      const exact = inputs.reduce((acc, x) => acc + x[i], 0) / 4;
      assert.ok(Math.abs(outputs[0][i] - exact) <= tolerance * 0.5 + 1e-6, `${wire} [${i}]`);
    }
    if (wire === 'fp16')
      for (const v of outputs[0])
        assert.equal(fp16BitsToFloat32(float32ToFp16Bits(v)), v, 'result is on the fp16 grid');
  }
});

test('forwarding pieces in place (lent buffers) gives the same bits as forwarding from the block, for sum, mean, fp16 and bf16', async () => {
  for (const n of [2, 3, 5])
    for (const [op, wire] of [
      ['sum', 'fp32'],
      ['mean', 'fp32'],
      ['mean', 'fp16'],
      ['sum', 'bf16'],
    ] as const) {
      const inputs = Array.from({ length: n }, (_, r) => {
        const random = mulberry32(r * 31 + 5);
        return new Float32Array(4099).map(() => (random() - 0.5) * 1e3);
      });
      const plain = await allReduceInMemory(inputs, op, wire, 512, false);
      const staged = await allReduceInMemory(inputs, op, wire, 512, true);
      for (let r = 0; r < n; r++)
        assert.ok(sameBits(plain[r], staged[r]), `n=${n} ${op} ${wire} rank ${r}`);
    }
});

/** Rank 0 all-reducing 40 floats in pieces of 2 against a forged rank 1 that sends `frames` first. */
async function againstForgedPeer(frames: Array<{ step: number; piece: number }>): Promise<unknown> {
  const [real, forged] = createMemoryRing(2, 8);
  for (const { step, piece } of frames)
    await forged.send({
      op: 0,
      kind: 'FRAME_KIND_ALL_REDUCE',
      step,
      piece,
      total: 40,
      origin: 0,
      format: 'WIRE_FORMAT_FP32',
      payload: new Uint8Array(8),
    });
  return ringAllReduce(real, 0, new Float32Array(40).fill(1), 'sum', 'fp32').then(
    () => assert.fail('the all-reduce finished against a forged peer'),
    (error: unknown) => error,
  );
}

test('pieces may arrive in any order, but a piece sent twice, one that does not exist, or a finished piece before this rank sent its part fails with a ProtocolError', async () => {
  const twice = await againstForgedPeer([
    { step: 0, piece: 3 },
    { step: 0, piece: 3 },
  ]);
  assert.ok(twice instanceof ProtocolError && /step 0 piece 3 .* only once/.test(twice.message));
  const unknown = await againstForgedPeer([{ step: 2, piece: 0 }]);
  assert.ok(unknown instanceof ProtocolError && /step 2 piece 0 .* never/.test(unknown.message));
  const outOfRange = await againstForgedPeer([{ step: 0, piece: 10 }]);
  assert.ok(outOfRange instanceof ProtocolError && /never/.test(outOfRange.message));
  // Rank 0's own block is pieces 0-9 of step 0; it has sent at most its first two when the
  // finished piece 9 comes back.
  const early = await againstForgedPeer([{ step: 1, piece: 9 }]);
  assert.ok(
    early instanceof ProtocolError && /before this rank sent its part/.test(early.message),
    String(early),
  );
});
