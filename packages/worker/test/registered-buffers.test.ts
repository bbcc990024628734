import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { ProtocolError } from '../src/process-group.js';
import {
  CREDIT_REFERENCE_READ,
  PeerBuffers,
  RegisteredBuffers,
  referenceReadCredit,
  regionAnswer,
} from '../src/registered-buffers.js';
import { SHARED_MEMORY_DIR, sharedMemory } from '../src/shared-memory.js';

const linux = process.platform === 'linux';
const word = (credit: Uint8Array): number =>
  new DataView(credit.buffer, credit.byteOffset, 4).getUint32(0, true);

test(
  "a registered buffer is placed only once the neighbour mapped it; the answer removes the file's name",
  { skip: !linux },
  async () => {
    const shm = (await sharedMemory())!;
    const own = new RegisteredBuffers(shm, 1);
    const peer = new PeerBuffers(shm, 0);
    const mapped = own.allocate(100_000);
    const declined = own.allocate(10);
    assert.equal(mapped.array.length, 100_000);
    const piece = new Uint8Array(mapped.array.buffer, mapped.array.byteOffset + 400, 4000);
    assert.equal(own.locate(piece), undefined, 'not before the answer');

    const answer = peer.map(mapped.id, mapped.name, 400_000);
    own.onCredit(word(answer));
    assert.equal(existsSync(`${SHARED_MEMORY_DIR}/${mapped.name}`), false);
    assert.deepEqual(own.locate(piece), { region: mapped.id, offset: 400 });
    assert.equal(own.locate(new Uint8Array(4000)), undefined, 'a plain array is not placed');

    own.onCredit(word(regionAnswer(declined.id, false)));
    assert.equal(existsSync(`${SHARED_MEMORY_DIR}/${declined.name}`), false);
    assert.equal(own.locate(new Uint8Array(declined.array.buffer)), undefined);

    // The neighbour's view is the sender's memory.
    const view = peer.view(mapped.id, 400, 4000);
    mapped.array[100] = 2.5;
    assert.equal(new Float32Array(view.buffer, view.byteOffset, 1)[0], 2.5);
    assert.ok(peer.holds(view) && !peer.holds(new Uint8Array(4)));

    assert.equal(own.release(mapped.array), mapped.id);
    assert.equal(own.release(mapped.array), undefined, 'released once');
    peer.forget(mapped.id);
    assert.throws(() => peer.view(mapped.id, 0, 4), /which it never announced/);
    own.release(declined.array);
    peer.close();
  },
);

test(
  'whenAllRead waits for every payload sent by reference; a read never sent is refused',
  { skip: !linux },
  async () => {
    const shm = (await sharedMemory())!;
    const own = new RegisteredBuffers(shm, 1);
    await own.whenAllRead();
    own.referenceSent();
    own.referenceSent();
    let done = false;
    const all = own.whenAllRead().then(() => (done = true));
    own.onCredit(word(referenceReadCredit()));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(done, false, 'one of two payloads is still read');
    own.onCredit(CREDIT_REFERENCE_READ);
    await all;
    assert.throws(
      () => own.onCredit(CREDIT_REFERENCE_READ),
      (e: Error) =>
        e instanceof ProtocolError &&
        /read a registered buffer's payload that this rank never sent/.test(e.message),
    );
  },
);

test(
  'answers and places that do not fit are refused with the peer named',
  { skip: !linux },
  async () => {
    const shm = (await sharedMemory())!;
    const own = new RegisteredBuffers(shm, 3);
    assert.throws(
      () => own.onCredit(word(regionAnswer(5, true))),
      /rank 3 answered for a registered buffer this rank did not announce/,
    );
    const { array, id, name } = own.allocate(1000);
    const peer = new PeerBuffers(shm, 2);
    own.onCredit(word(peer.map(id, name, 4000)));
    assert.throws(
      () => own.onCredit(word(regionAnswer(id, true))),
      /did not announce/,
      'answered twice',
    );
    assert.throws(() => peer.map(id, name, 4000), /rank 2 announced registered buffer 0 twice/);
    assert.throws(
      () => peer.view(id, 3000, 1001),
      /rank 2 placed a payload at bytes 3000\.\.4001 of registered buffer 0, which holds 4000 bytes/,
    );
    assert.throws(() => peer.forget(9), /rank 2 withdrew registered buffer 9/);
    // A name that is not there (or not ours) is declined, not fatal.
    assert.equal(
      word(peer.map(1, 'ner-launch-1-0000000000000000', 4000)),
      word(regionAnswer(1, false)),
    );
    assert.equal(word(peer.map(2, '../etc/passwd', 4000)), word(regionAnswer(2, false)));
    own.release(array);
    peer.close();
  },
);
