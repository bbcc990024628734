/** The NCCL bindings against a mock libnccl built here with the C compiler (no GPUs). */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import koffi from 'koffi';
import type { CudaDiscovery } from '../../src/libraries/discovery.js';
import { NcclComm, ncclUniqueId } from '../../src/libraries/nccl.js';

const dir = mkdtempSync(join(tmpdir(), 'ner-mock-nccl-'));
const library = join(dir, 'libnccl.so.2');
const skip =
  spawnSync('cc', ['--version']).status === 0 ? false : 'no C compiler to build the mock libnccl';
let discovery: CudaDiscovery;

before(() => {
  if (skip) return;
  const source = fileURLToPath(new URL('../fixtures/mock-libnccl.c', import.meta.url));
  const built = spawnSync('cc', ['-shared', '-fPIC', '-O1', '-o', library, source], {
    encoding: 'utf8',
  });
  assert.equal(built.status, 0, built.stderr);
  discovery = {
    libraries: { nccl: { name: 'nccl', path: library, version: '2' } },
    missing: [],
    searched: [dir],
  };
});
after(() => rmSync(dir, { recursive: true, force: true }));

test(
  'the unique id comes back as its 128 bytes and goes to ncclCommInitRank by value',
  { skip },
  () => {
    const id = ncclUniqueId(discovery);
    assert.deepEqual(
      [...id],
      Array.from({ length: 128 }, (_, i) => i),
    );
    // The mock accepts only the reversed bytes: what arrives is what was sent, all 128 of them.
    const comm = new NcclComm(
      discovery,
      Uint8Array.from({ length: 128 }, (_, i) => 127 - i),
      1,
      2,
    );
    comm.allReduceFloat32(0x1000n, 12345, 'mean', null);
    const last = new BigUint64Array(7);
    koffi.load(library).func('void mockLastAllReduce(uint64_t *out)')(last);
    assert.deepEqual(
      [...last.subarray(0, 5)],
      [0x1000n, 0x1000n, 12345n, 7n, 4n],
      'in place, float32, ncclAvg',
    );
    comm.dispose();
    assert.throws(
      () => new NcclComm(discovery, id, 0, 2),
      /^Error: ncclCommInitRank failed: invalid argument$/,
    );
    assert.throws(
      () => new NcclComm(discovery, new Uint8Array(64), 0, 2),
      /ncclUniqueId must be 128 bytes, got 64/,
    );
  },
);
