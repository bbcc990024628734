import assert from 'node:assert/strict';
import { closeSync, existsSync, openSync, readdirSync, unlinkSync } from 'node:fs';
import { test } from 'node:test';
import { SHARED_MEMORY_DIR, sharedMemory } from '../src/shared-memory.js';

const linux = process.platform === 'linux';

test(
  'a region one side creates is seen by the other side mapping its name, and the name can go at once',
  { skip: !linux },
  async () => {
    const shm = await sharedMemory();
    assert.ok(shm, 'shared memory is available on Linux');
    const { name, region } = shm.create(3 * 4096);
    const path = `${SHARED_MEMORY_DIR}/${name}`;
    assert.ok(existsSync(path));
    const peer = shm.open(name, 3 * 4096);
    shm.remove(name);
    assert.ok(!existsSync(path), 'the name is gone once both mapped it');
    region.bytes.set([1, 2, 3], 8190);
    assert.deepEqual([...peer.bytes.subarray(8190, 8193)], [1, 2, 3]);
    assert.equal(peer.bytes.byteLength, 3 * 4096);
    region.unmap();
    peer.unmap();
  },
);

test(
  'opening refuses names it did not make and files shorter than the region (no SIGBUS later)',
  { skip: !linux },
  async () => {
    const shm = (await sharedMemory())!;
    assert.throws(() => shm.open('../etc/passwd', 4096), /not a ner-launch shared memory name/);
    const { name, region } = shm.create(4096);
    assert.throws(() => shm.open(name, 8192), /holds 4096 bytes, expected 8192/);
    region.unmap();
    shm.remove(name);
    assert.equal(
      readdirSync(SHARED_MEMORY_DIR).filter((f) => f.startsWith(`ner-launch-${process.pid}-`))
        .length,
      0,
    );
  },
);

test('NER_LAUNCH_SHM=0 turns shared memory off', async () => {
  process.env.NER_LAUNCH_SHM = '0';
  try {
    assert.equal(await sharedMemory(), undefined);
  } finally {
    delete process.env.NER_LAUNCH_SHM;
  }
});

test(
  'removing a name a peer already removed is quiet; a foreign name is never removed',
  { skip: !linux },
  async () => {
    const shm = (await sharedMemory())!;
    const foreign = `${SHARED_MEMORY_DIR}/not-ours-${process.pid}`;
    closeSync(openSync(foreign, 'w'));
    shm.remove(`../${foreign}`);
    shm.remove(`not-ours-${process.pid}`);
    assert.ok(existsSync(foreign));
    unlinkSync(foreign);
    const { name, region } = shm.create(4096);
    shm.remove(name);
    shm.remove(name);
    region.unmap();
  },
);
