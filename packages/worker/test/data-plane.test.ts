import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import type { Socket } from 'node:net';
import { test } from 'node:test';
import { DataPlane } from '../src/data-plane.js';
import type { GrpcProcessGroup } from '../src/grpc-process-group.js';
import { PeerLostError, ProtocolError } from '../src/process-group.js';
import type { RingFrame } from '../src/ring-link.js';
import { SHARED_MEMORY_DIR } from '../src/shared-memory.js';
import { encodeHeader, encodeRegionReference } from '../src/stream-frames.js';
import { startGroups } from './support/in-process-groups.js';

/** The data plane's socket on which `group` writes to its right neighbour (tests only). */
const wireOf = (group: GrpcProcessGroup): Socket =>
  (group as unknown as { dataPlane: { outgoing: Socket } }).dataPlane.outgoing;
const frameFields = {
  op: 7,
  kind: 'FRAME_KIND_BROADCAST',
  step: 0,
  piece: 0,
  total: 4,
  origin: 0,
  format: 'WIRE_FORMAT_BYTES',
} as const;

/** The first frame rank 0 expects in an all-reduce of 1000 floats over 2 ranks. */
const firstFrame = (payloadBytes: number): RingFrame => ({
  op: 0,
  kind: 'FRAME_KIND_ALL_REDUCE',
  step: 0,
  piece: 0,
  total: 1000,
  origin: 0,
  format: 'WIRE_FORMAT_FP32',
  payload: new Uint8Array(payloadBytes),
});

/** Header of that frame. */
const firstFrameHeader = (payloadBytes: number): Uint8Array =>
  encodeHeader(firstFrame(payloadBytes));

/** Rank 0 all-reduces while a misbehaving rank 1 writes `bytes` and maybe hangs up. */
async function rank0AgainstForgedPeer(bytes: Uint8Array[], hangUp: boolean): Promise<Error> {
  const groups = await startGroups(2, { collectiveTimeoutMs: 20_000 });
  const data = new Float32Array(1000).fill(1);
  const result = groups[0].allReduce(data, 'sum');
  const wire = wireOf(groups[1]);
  for (const b of bytes) wire.write(b);
  if (hangUp) wire.end();
  const error = await result.then(
    () => assert.fail('the all-reduce resolved with data from a forged frame'),
    (e: Error) => e,
  );
  assert.ok(
    data.every((v) => v === 1 || v === 2),
    'no value other than the inputs was written',
  );
  await Promise.all(groups.map((g) => g.close().catch(() => undefined)));
  return error;
}

test('a frame announcing more payload than the cap fails the collective before anything is allocated', async () => {
  const header = firstFrameHeader(8);
  new DataView(header.buffer).setUint32(20, 1 << 30, true);
  const error = await rank0AgainstForgedPeer([header], false);
  assert.ok(error instanceof ProtocolError, String(error));
  assert.match(
    error.message,
    /rank 1 announced a data-plane frame of 1073741824 payload bytes, above the cap of 4194304/,
  );
});

test('a frame cut short by a hang-up fails the collective naming the peer, never yielding a sum', async () => {
  const error = await rank0AgainstForgedPeer([firstFrameHeader(2000), new Uint8Array(100)], true);
  assert.ok(error instanceof PeerLostError, String(error));
  assert.equal(error.lostRank, 1);
  assert.match(
    error.message,
    /data link from rank 1 closed in the middle of a frame \(100 of 2000 payload bytes\)/,
  );
});

test('a complete frame whose payload is shorter than the piece it claims is refused', async () => {
  const error = await rank0AgainstForgedPeer([firstFrameHeader(8), new Uint8Array(8)], false);
  assert.ok(error instanceof ProtocolError, String(error));
  assert.match(error.message, /rank 1 sent 8 payload bytes where 2000 were expected/);
});

test('bytes that are not a frame are refused', async () => {
  const error = await rank0AgainstForgedPeer([new Uint8Array(40).fill(0x41)], false);
  assert.ok(error instanceof ProtocolError, String(error));
  assert.match(error.message, /not a data-plane frame/);
});

test('the data plane links only a peer that proves the run token; an intruder is dropped', async () => {
  const options = { worldSize: 2, host: '127.0.0.1', maxPayloadBytes: 1024 };
  const leftFailures: Error[] = [];
  const left = await DataPlane.listen({
    ...options,
    rank: 0,
    token: 'tok',
    onFailure: (e) => leftFailures.push(e),
  });
  const intruder = await DataPlane.listen({
    ...options,
    rank: 1,
    token: 'not-the-token',
    onFailure: () => undefined,
  });
  await assert.rejects(intruder.connectLeft(left.endpoint), /before it proved the run token/);
  const right = await DataPlane.listen({
    ...options,
    rank: 1,
    token: 'tok',
    onFailure: () => undefined,
  });
  await right.connectLeft(left.endpoint);
  const payload = new Uint8Array([1, 2, 3, 4]);
  await left.send({ ...frameFields, payload });
  const got = await right.recv();
  assert.deepEqual([...got.payload], [1, 2, 3, 4]);
  assert.equal(got.op, frameFields.op);
  assert.deepEqual(leftFailures, [], 'the refused intruder did not fail the group');
  for (const plane of [left, intruder, right]) plane.destroy();
});

/** In-process ranks whose data planes can share registered buffers with their neighbours. */
async function registeredRing(
  worldSize = 2,
): Promise<{ groups: GrpcProcessGroup[]; planes: DataPlane[] }> {
  const groups = await startGroups(worldSize);
  // A collective first: by its end each rank has mapped its neighbour's shared slots.
  await Promise.all(groups.map((g) => g.barrier()));
  const planes = groups.map((g) => (g as unknown as { dataPlane: DataPlane }).dataPlane);
  return { groups, planes };
}

/** Waits (at most 5 s) until rank 1 has answered the announcement of `bytes`' buffer. */
async function untilMapped(plane: DataPlane, bytes: Uint8Array): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!plane.readsInPlace(bytes)) {
    if (Date.now() > deadline) assert.fail('the neighbour never mapped the registered buffer');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const settledSoon = async (promise: Promise<unknown>): Promise<boolean> => {
  let settled = false;
  void promise.then(() => (settled = true));
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
  return settled;
};

test(
  "a registered buffer's payload is read in place by the right neighbour, and flush waits until it was",
  { skip: process.platform !== 'linux' },
  async () => {
    const { groups, planes } = await registeredRing();
    try {
      const array = groups[0].allocateBuffer(1 << 18);
      array.forEach((_, i) => (array[i] = i));
      const bytes = new Uint8Array(array.buffer, array.byteOffset + 4096, 1 << 19);
      await untilMapped(planes[0], bytes);
      assert.equal(planes[0].readsInPlace(new Uint8Array(1 << 19)), false, 'a plain array is not');
      await planes[0].send({ ...frameFields, payload: bytes });
      const flushed = planes[0].flush();
      const got = await planes[1].recv();
      const floats = new Float32Array(got.payload.buffer, got.payload.byteOffset, 1 << 17);
      assert.equal(floats[0], 1024);
      array[1024] = -7;
      assert.equal(floats[0], -7, "the receiver sees the sender's memory, not a copy");
      assert.equal(
        await settledSoon(flushed),
        false,
        'flush waits while the neighbour still reads',
      );
      await planes[1].flush();
      await flushed;
      groups[0].releaseBuffer(array);
    } finally {
      await Promise.all(groups.map((g) => g.close()));
    }
  },
);

for (const worldSize of [2, 3])
  test(
    `all-reduces of registered buffers over ${worldSize} ranks give the bits plain arrays give, and leave no shared-memory names`,
    { skip: process.platform !== 'linux' },
    async () => {
      const { groups, planes } = await registeredRing(worldSize);
      const length = (1 << 20) + 3;
      const input = (r: number): Float32Array =>
        new Float32Array(length).map((_, i) => Math.sin(i * 0.37 + r) * 10 ** ((i % 7) - 3));
      const arrays = groups.map((g) => g.allocateBuffer(length));
      await Promise.all(
        arrays.map((a, r) =>
          untilMapped(planes[r], new Uint8Array(a.buffer, a.byteOffset, 1 << 20)),
        ),
      );
      // Frames of more than 64 KiB each rank sends in the registered all-reduces, and how many
      // of them its neighbour reads in place.
      let counting = false;
      const counts = planes.map((plane) => {
        const counted = { large: 0, inPlace: 0 };
        const send = plane.send.bind(plane);
        plane.send = (frame, options) => {
          if (counting && frame.payload.byteLength > 65_536) counted.large++;
          if (counting && plane.readsInPlace(frame.payload)) counted.inPlace++;
          return send(frame, options);
        };
        return counted;
      });
      for (const op of ['sum', 'mean'] as const) {
        for (const pieceBytes of [undefined, 1 << 17]) {
          arrays.forEach((a, r) => a.set(input(r)));
          const plain = groups.map((_, r) => input(r));
          await Promise.all(groups.map((g, r) => g.allReduce(plain[r], op, { pieceBytes })));
          counting = true;
          await Promise.all(groups.map((g, r) => g.allReduce(arrays[r], op, { pieceBytes })));
          counting = false;
          for (let r = 0; r < worldSize; r++)
            assert.ok(
              Buffer.from(arrays[r].buffer, arrays[r].byteOffset, length * 4).equals(
                Buffer.from(plain[r].buffer),
              ),
              `rank ${r}, ${op}, pieces of ${pieceBytes ?? 'the cap'} bytes`,
            );
        }
      }
      // Per rank, sum and mean, 2(n-1) steps of 1 piece of the cap or of 128 KiB pieces.
      for (const { large, inPlace } of counts) {
        assert.ok(large >= 2 * 2 * (worldSize - 1) * 2, `${large} large frames`);
        assert.equal(inPlace, large, 'every large frame was read in place');
      }
      groups.forEach((g, r) => g.releaseBuffer(arrays[r]));
      await Promise.all(groups.map((g) => g.close()));
      const left = readdirSync(SHARED_MEMORY_DIR).filter((f) =>
        f.startsWith(`ner-launch-${process.pid}-`),
      );
      assert.deepEqual(left, [], 'every shared-memory name was removed');
    },
  );

test('a payload placed in a registered buffer the peer never announced is refused', async () => {
  const error = await rank0AgainstForgedPeer(
    [encodeRegionReference(firstFrame(2000), 3, 0)],
    false,
  );
  assert.ok(error instanceof ProtocolError, String(error));
  assert.match(
    error.message,
    /rank 1 placed a payload at bytes 0\.\.2000 of registered buffer 3, which it never announced/,
  );
});

test('a credit for a registered-buffer read that never happened fails the group', async () => {
  const groups = await startGroups(2, { collectiveTimeoutMs: 20_000 });
  await Promise.all(groups.map((g) => g.barrier()));
  // Rank 1 writes credits to rank 0 on the link it reads rank 0's frames from.
  const credits = (groups[1] as unknown as { dataPlane: { incoming: Socket } }).dataPlane.incoming;
  credits.write(Buffer.from([0, 0, 0, 0x80]));
  const error = await groups[0].allReduce(new Float32Array(1000), 'sum').then(
    () => assert.fail('the all-reduce went on after a forged credit'),
    (e: Error) => e,
  );
  assert.ok(error instanceof ProtocolError, String(error));
  assert.match(
    error.message,
    /rank 1 sent a registered-buffer credit \(0x80000000\) with none announced/,
  );
  await Promise.all(groups.map((g) => g.close().catch(() => undefined)));
});
