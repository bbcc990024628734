import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import type { Socket } from 'node:net';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { DataPlane } from '../src/data-plane.js';
import { ProtocolError } from '../src/process-group.js';
import type { RingFrame } from '../src/ring-link.js';
import { SHARED_MEMORY_DIR } from '../src/shared-memory.js';
import { SLOTS_PER_LINK } from '../src/shared-slots.js';
import { encodeHeader } from '../src/stream-frames.js';

const linux = process.platform === 'linux';
const SLOT_BYTES = 1 << 20;

/** Private parts of a plane the forged-peer tests write on. */
interface PlaneInternals {
  outgoing: Socket;
  incoming: Socket;
  writer?: { usable: boolean };
}
const internals = (plane: DataPlane): PlaneInternals => plane as unknown as PlaneInternals;

const frame = (payload: Uint8Array, piece = 0): RingFrame => ({
  op: 3,
  kind: 'FRAME_KIND_BROADCAST',
  step: 0,
  piece,
  total: payload.byteLength,
  origin: 0,
  format: 'WIRE_FORMAT_BYTES',
  payload,
});

/** Two ranks linked both ways (rank 0 -> 1 -> 0); waits until each has an answer to its shared-memory offer. */
async function linkedPair(shm: boolean): Promise<{ planes: DataPlane[]; failures: Error[][] }> {
  if (!shm) process.env.NER_LAUNCH_SHM = '0';
  const failures: Error[][] = [[], []];
  try {
    const planes = await Promise.all(
      [0, 1].map((rank) =>
        DataPlane.listen({
          rank,
          worldSize: 2,
          token: 'tok',
          host: '127.0.0.1',
          maxPayloadBytes: SLOT_BYTES,
          onFailure: (e) => failures[rank].push(e),
        }),
      ),
    );
    await Promise.all([
      planes[1].connectLeft(planes[0].endpoint),
      planes[0].connectLeft(planes[1].endpoint),
    ]);
    await Promise.all(planes.map((p) => p.ready()));
    if (shm)
      for (let wait = 0; !planes.every((p) => internals(p).writer?.usable); wait++) {
        assert.ok(wait < 500, 'the shared-memory offers were answered within 5 s');
        await sleep(10);
      }
    return { planes, failures };
  } finally {
    delete process.env.NER_LAUNCH_SHM;
  }
}

const ourRegions = (): string[] =>
  readdirSync(SHARED_MEMORY_DIR).filter((f) => f.startsWith(`ner-launch-${process.pid}-`));

test(
  'large payloads go through shared slots and small ones through the socket; both arrive intact; no file is left',
  { skip: !linux },
  async () => {
    const { planes, failures } = await linkedPair(true);
    assert.equal(planes[1].transport, 'shared memory (headers over a unix socket)');
    assert.deepEqual(ourRegions(), [], 'the names are removed once mapped');
    const big = new Uint8Array(randomBytes(SLOT_BYTES));
    const small = new Uint8Array(randomBytes(100));
    await planes[0].send(frame(big, 0));
    await planes[0].send(frame(small, 1));
    const gotBig = await planes[1].recv();
    assert.equal(Buffer.compare(gotBig.payload, big), 0);
    const gotSmall = await planes[1].recv();
    assert.equal(Buffer.compare(gotSmall.payload, small), 0);
    assert.equal(gotSmall.piece, 1);
    assert.deepEqual(failures, [[], []]);
    for (const p of planes) p.destroy();
  },
);

test(
  'a sender with every slot in the receiver’s hands waits until the receiver moves on',
  { skip: !linux },
  async () => {
    const { planes } = await linkedPair(true);
    const payloads = Array.from({ length: SLOTS_PER_LINK + 2 }, (_, i) =>
      new Uint8Array(200_000).fill(i + 1),
    );
    for (let i = 0; i < SLOTS_PER_LINK; i++) await planes[0].send(frame(payloads[i], i));
    let extraSent = false;
    const extra = planes[0]
      .send(frame(payloads[SLOTS_PER_LINK], SLOTS_PER_LINK))
      .then(() => (extraSent = true));
    await sleep(100);
    assert.equal(extraSent, false, 'no slot was free, so the send waited');
    const first = await planes[1].recv();
    assert.equal(first.payload[0], 1);
    assert.equal(extraSent, false, 'a payload is the receiver’s until its next recv');
    const second = await planes[1].recv();
    assert.equal(second.payload[0], 2);
    await extra;
    const last = planes[0].send(frame(payloads[SLOTS_PER_LINK + 1], SLOTS_PER_LINK + 1));
    for (let i = 2; i < SLOTS_PER_LINK + 2; i++) {
      const got = await planes[1].recv();
      assert.equal(got.piece, i);
      assert.ok(
        got.payload.every((v) => v === i + 1),
        `payload ${i} intact after slot reuse`,
      );
    }
    await last;
    for (const p of planes) p.destroy();
  },
);

test('with NER_LAUNCH_SHM=0 payloads stay on the Unix socket', async () => {
  const { planes } = await linkedPair(false);
  assert.equal(planes[1].transport, 'unix socket');
  const big = new Uint8Array(randomBytes(SLOT_BYTES));
  await planes[0].send(frame(big));
  assert.equal(Buffer.compare((await planes[1].recv()).payload, big), 0);
  for (const p of planes) p.destroy();
});

/** A header claiming the payload of `frame(payload)` waits in `slot`. */
const forgedSlotHeader = (slot: number, bytes = SLOT_BYTES): Uint8Array =>
  encodeHeader(frame(new Uint8Array(bytes)), slot);

test('a frame naming a shared slot when none was offered is refused', async () => {
  const { planes, failures } = await linkedPair(false);
  internals(planes[0]).outgoing.write(forgedSlotHeader(0));
  await assert.rejects(planes[1].recv(), (e: Error) => {
    assert.ok(e instanceof ProtocolError, String(e));
    assert.match(e.message, /rank 0 announced a payload in shared slot 0 without having offered/);
    return true;
  });
  assert.equal(failures[1].length, 1);
  for (const p of planes) p.destroy();
});

test(
  'a slot outside the offered region, or one reused before it was given back, is refused',
  { skip: !linux },
  async () => {
    const outside = await linkedPair(true);
    internals(outside.planes[0]).outgoing.write(forgedSlotHeader(SLOTS_PER_LINK));
    await assert.rejects(
      outside.planes[1].recv(),
      new RegExp(
        `rank 0 announced ${SLOT_BYTES} bytes in shared slot ${SLOTS_PER_LINK} \\(it has ${SLOTS_PER_LINK} slots`,
      ),
    );
    for (const p of outside.planes) p.destroy();

    const reused = await linkedPair(true);
    await reused.planes[0].send(frame(new Uint8Array(SLOT_BYTES).fill(7)));
    const got = await reused.planes[1].recv();
    assert.equal(got.payload[0], 7);
    // Slot 0 is still the receiver's (until its next recv): a header naming it again is forged.
    internals(reused.planes[0]).outgoing.write(forgedSlotHeader(0));
    await sleep(50); // the forged header arrives while slot 0 is still lent out
    await assert.rejects(
      reused.planes[1].recv(),
      /rank 0 reused shared slot 0 before this rank gave it back/,
    );
    for (const p of reused.planes) p.destroy();
  },
);

test(
  'a credit for a slot the receiver never held fails the sender’s link naming the receiver',
  { skip: !linux },
  async () => {
    const { planes, failures } = await linkedPair(true);
    const credit = Buffer.alloc(4);
    credit.writeUInt32LE(2);
    internals(planes[1]).incoming.write(credit);
    for (let wait = 0; failures[0].length === 0 && wait < 200; wait++) await sleep(10);
    assert.equal(failures[0].length, 1);
    assert.ok(failures[0][0] instanceof ProtocolError);
    assert.match(failures[0][0].message, /rank 1 gave back shared slot 2, which it did not hold/);
    await assert.rejects(planes[0].send(frame(new Uint8Array(SLOT_BYTES))), ProtocolError);
    for (const p of planes) p.destroy();
  },
);

test(
  'a staged slot carries the payload written into it; sends that spare a slot leave the last free one to staging',
  { skip: !linux },
  async () => {
    const { planes } = await linkedPair(true);
    const sent: Promise<void>[] = [];
    for (let i = 0; i < SLOTS_PER_LINK - 1; i++)
      sent.push(
        planes[0].send(frame(new Uint8Array(200_000).fill(i + 1), i), { spareStage: true }),
      );
    await Promise.all(sent);
    let spareSent = false;
    const spare = planes[0]
      .send(frame(new Uint8Array(200_000).fill(99), SLOTS_PER_LINK), { spareStage: true })
      .then(() => (spareSent = true));
    await sleep(50);
    assert.equal(spareSent, false, 'one slot was free, and it is kept for staging');
    const staged = planes[0].stage(200_000);
    assert.ok(staged, 'staging takes the slot that was kept');
    assert.equal(planes[0].stage(200_000), undefined, 'no second slot is free');
    staged.fill(42);
    await planes[0].send(frame(staged, SLOTS_PER_LINK - 1));
    for (let i = 0; i < SLOTS_PER_LINK; i++) {
      const got = await planes[1].recv();
      assert.equal(got.piece, i);
      assert.ok(got.payload.every((v) => v === (i === SLOTS_PER_LINK - 1 ? 42 : i + 1)));
    }
    // The receiver now holds one slot and gave the others back: the spared send goes on.
    await spare;
    const last = await planes[1].recv();
    assert.equal(last.piece, SLOTS_PER_LINK);
    assert.ok(last.payload.every((v) => v === 99));
    for (const p of planes) p.destroy();
  },
);
