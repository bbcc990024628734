import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { test } from 'node:test';
import { DataPlane } from '../src/data-plane.js';
import type { GrpcProcessGroup } from '../src/grpc-process-group.js';
import { PeerLostError, ProtocolError } from '../src/process-group.js';
import { encodeHeader } from '../src/stream-frames.js';
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

/** Header of the first frame rank 0 expects in an all-reduce of 1000 floats over 2 ranks. */
function firstFrameHeader(payloadBytes: number): Uint8Array {
  return encodeHeader({
    op: 0,
    kind: 'FRAME_KIND_ALL_REDUCE',
    step: 0,
    piece: 0,
    total: 1000,
    origin: 0,
    format: 'WIRE_FORMAT_FP32',
    payload: new Uint8Array(payloadBytes),
  });
}

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
