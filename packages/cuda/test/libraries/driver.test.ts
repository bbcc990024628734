/**
 * The driver API bindings against a mock libcuda.so.1 built here with the C compiler (no GPU
 * needed): device query, memory round trips through typed arrays, and errors naming the call.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import koffi from 'koffi';
import { KernelArguments } from '../../src/kernels/kernel-arguments.js';
import { CudaDriver, CudaDriverError, probeDriver } from '../../src/libraries/driver.js';
import type { CudaDiscovery } from '../../src/libraries/discovery.js';

const dir = mkdtempSync(join(tmpdir(), 'ner-mock-cuda-'));
const library = join(dir, 'libcuda.so.1');
const compiler = spawnSync('cc', ['--version']).status === 0 ? 'cc' : undefined;
const skip = compiler ? false : 'no C compiler to build the mock libcuda';
let discovery: CudaDiscovery;

before(() => {
  if (!compiler) return;
  const source = fileURLToPath(new URL('../fixtures/mock-libcuda.c', import.meta.url));
  const built = spawnSync(compiler, ['-shared', '-fPIC', '-O1', '-o', library, source], {
    encoding: 'utf8',
  });
  assert.equal(built.status, 0, built.stderr);
  discovery = {
    libraries: { driver: { name: 'driver', path: library, version: '1' } },
    missing: [],
    searched: [dir],
  };
});
after(() => rmSync(dir, { recursive: true, force: true }));

test(
  'the driver reports its version and the GPU with its compute capability and memory',
  { skip },
  () => {
    const probe = probeDriver(discovery);
    assert.ok('gpus' in probe, JSON.stringify(probe));
    assert.equal(probe.version, '13.0');
    assert.deepEqual(probe.gpus, [
      { index: 0, name: 'Mock GPU', computeCapability: [9, 0], memoryBytes: 80 * 2 ** 30 },
    ]);
    assert.equal(probe.driver.multiprocessors(0), 132);
  },
);

test('float32 and int32 arrays go to device memory and back unchanged', { skip }, () => {
  const driver = CudaDriver.load(discovery);
  driver.retainPrimaryContext(driver.device(0));
  const values = Float32Array.of(1.5, -2.25, 3e-8, 7);
  const ptr = driver.alloc(values.byteLength);
  driver.upload(ptr, values);
  const back = new Float32Array(4);
  driver.download(back, ptr);
  assert.deepEqual(back, values);
  driver.fill32(ptr, 0, 2);
  const ints = new Int32Array(4);
  driver.download(ints, ptr);
  assert.deepEqual([...ints.subarray(0, 2)], [0, 0]);
  const other = driver.alloc(16);
  driver.copy(other, ptr, 16);
  driver.download(back, other);
  assert.equal(back[3], 7);
  driver.free(ptr);
  driver.free(other);
});

test('a failing call is one line naming the call and the CUDA error', { skip }, () => {
  const driver = CudaDriver.load(discovery);
  assert.throws(
    () => driver.alloc(2 ** 33),
    (e: unknown) =>
      e instanceof CudaDriverError &&
      e.message === `cuMemAlloc_v2 (${2 ** 33} bytes) failed: CUDA_ERROR_OUT_OF_MEMORY (2)`,
  );
  assert.throws(
    () => driver.loadModule(new Uint8Array(8), 'attention.cu'),
    /^CudaDriverError: cuModuleLoadData \(attention\.cu\) failed: CUDA_ERROR_INVALID_IMAGE \(200\)$/,
  );
  assert.throws(() => driver.device(3), /cuDeviceGet failed: CUDA_ERROR_INVALID_DEVICE \(101\)/);
});

test(
  'a launch hands cuLaunchKernel the argument block: each parameter reads back as written',
  { skip },
  () => {
    const driver = CudaDriver.load(discovery);
    const args = new KernelArguments('k', ['ptr', 'i64', 'f32', 'u64']);
    try {
      args.set([0xdeadbeef00n, 12345678901, 0.5, 2n ** 63n + 1n]);
      driver.launch(null, [7, 1, 1], [256, 1, 1], 4096, null, args.pointer, 'k');
      const last = new BigUint64Array(7);
      koffi.load(library).func('void mockLastLaunch(uint64_t *out)')(last);
      assert.deepEqual([...last.subarray(0, 3)], [7n, 256n, 4096n]);
      assert.equal(last[3], 0xdeadbeef00n);
      assert.equal(last[4], 12345678901n);
      assert.equal(new Float32Array(new BigUint64Array([last[5]!]).buffer)[0], 0.5);
      assert.equal(last[6], 2n ** 63n + 1n);
    } finally {
      args.dispose();
    }
  },
);
