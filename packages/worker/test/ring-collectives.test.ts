import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ProtocolError } from '../src/process-group.js';
import { ringAllReduce } from '../src/ring-allreduce.js';
import { ringAllGather, ringBroadcast } from '../src/ring-collectives.js';
import { checkFrame, createMemoryRing, type RingFrame } from '../src/ring-link.js';

test('broadcast copies the root bytes to every rank, for every root and small pieces', async () => {
  for (const n of [2, 3, 5]) {
    for (let root = 0; root < n; root++) {
      const links = createMemoryRing(n, 8);
      const data = links.map((l) =>
        new Uint8Array(37).fill(l.rank === root ? 0 : 255).map((v, i) => (l.rank === root ? i : v)),
      );
      await Promise.all(
        links.map((l, r) => ringBroadcast(l, 3, data[r], root, 'WIRE_FORMAT_BYTES')),
      );
      for (const d of data)
        assert.deepEqual(
          [...d],
          Array.from({ length: 37 }, (_, i) => i),
        );
    }
  }
});

test('all-gather returns every rank’s block, of differing and zero sizes, on every rank', async () => {
  for (const n of [1, 2, 4, 7]) {
    const links = createMemoryRing(n, 8);
    const results = await Promise.all(
      links.map((l) =>
        ringAllGather(l, 0, new Uint8Array(l.rank * 5).fill(l.rank + 1), 'WIRE_FORMAT_BYTES'),
      ),
    );
    for (const blocks of results) {
      assert.equal(blocks.length, n);
      blocks.forEach((b, r) => assert.deepEqual([...b], new Array<number>(r * 5).fill(r + 1)));
    }
  }
});

test('a frame from a different collective, step or size is rejected with a ProtocolError naming the sender', () => {
  const frame: RingFrame = {
    op: 4,
    kind: 'FRAME_KIND_BROADCAST',
    step: 0,
    piece: 0,
    total: 10,
    origin: 0,
    format: 'WIRE_FORMAT_FP32',
    payload: new Uint8Array(8),
  };
  assert.throws(
    () =>
      checkFrame(
        frame,
        { op: 4, kind: 'FRAME_KIND_ALL_REDUCE', step: 0, piece: 0, format: 'WIRE_FORMAT_FP32' },
        2,
      ),
    (e: Error) => e instanceof ProtocolError && /rank 2/.test(e.message) && /kind/.test(e.message),
  );
  assert.throws(
    () =>
      checkFrame(
        frame,
        { op: 5, kind: 'FRAME_KIND_BROADCAST', step: 0, piece: 0, format: 'WIRE_FORMAT_FP32' },
        1,
      ),
    ProtocolError,
  );
  assert.throws(
    () =>
      checkFrame(
        frame,
        {
          op: 4,
          kind: 'FRAME_KIND_BROADCAST',
          step: 0,
          piece: 0,
          format: 'WIRE_FORMAT_FP32',
          payloadBytes: 12,
        },
        1,
      ),
    /8 payload bytes where 12/,
  );
});

test('ranks calling all-reduce with different lengths fail with a ProtocolError instead of mixing data', async () => {
  const links = createMemoryRing(2, 1024);
  const results = await Promise.allSettled([
    ringAllReduce(links[0], 0, new Float32Array(10), 'sum', 'fp32'),
    ringAllReduce(links[1], 0, new Float32Array(12), 'sum', 'fp32'),
  ]);
  assert.ok(results.some((r) => r.status === 'rejected' && r.reason instanceof ProtocolError));
});

test('an all-gather block announcing an absurd size is refused before allocating it', async () => {
  const [a, b] = createMemoryRing(2, 1024);
  await a.send({
    op: 0,
    kind: 'FRAME_KIND_ALL_GATHER',
    step: 0,
    piece: 0,
    total: 2 ** 40,
    origin: 0,
    format: 'WIRE_FORMAT_BYTES',
    payload: new Uint8Array(0),
  });
  await assert.rejects(
    ringAllGather(b, 0, new Uint8Array(0), 'WIRE_FORMAT_BYTES'),
    /announced an all-gather block/,
  );
});
