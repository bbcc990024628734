import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { cudaAvailability, cudaUnavailableMessage } from '../../src/libraries/availability.js';
import { discoverCuda } from '../../src/libraries/discovery.js';
import { CudaDriver } from '../../src/libraries/driver.js';
import { CudaLibraryError, loadLibrary } from '../../src/libraries/load-library.js';

const empty = mkdtempSync(join(tmpdir(), 'ner-cuda-none-'));
after(() => rmSync(empty, { recursive: true, force: true }));

test('loading a missing library names the file and what it is', () => {
  assert.throws(
    () => loadLibrary(join(empty, 'libcublasLt.so.13'), 'cuBLASLt'),
    (error: unknown) =>
      error instanceof CudaLibraryError &&
      error.message.startsWith(`cannot load cuBLASLt from ${join(empty, 'libcublasLt.so.13')}: `),
  );
});

test('without a GPU or libraries, --backend cuda gets one line naming everything looked for', () => {
  const discovery = discoverCuda({
    cudaHome: empty,
    env: {},
    systemDirs: [empty],
    systemIncludeDirs: [],
  });
  const message = cudaUnavailableMessage(discovery, {
    error: 'cannot load the NVIDIA driver (libcuda.so.1) from libcuda.so.1: x',
  });
  assert.ok(message);
  assert.equal(message.split('\n').length, 1);
  assert.match(
    message,
    /^--backend cuda cannot run: cannot load the NVIDIA driver \(libcuda\.so\.1\)/,
  );
  assert.match(
    message,
    new RegExp(
      `NVRTC \\(libnvrtc\\.so\\.13 or libnvrtc\\.so\\.12\\) not in ${join(empty, 'lib64')}:`,
    ),
  );
  assert.match(message, /cuBLASLt \(libcublasLt\.so\.13 or libcublasLt\.so\.12\) not in /);
  assert.match(message, /the CUDA runtime headers \(cuda_bf16\.h\) not in /);
  assert.match(message, /set --cuda_home or CUDA_HOME, or NER_LAUNCH_CUDA_PYTHON/);
  assert.doesNotMatch(message, /NCCL/, 'NCCL is optional: the host ring replaces it');
});

test('a driver that sees no GPU is named as the reason', () => {
  const discovery = discoverCuda({
    cudaHome: empty,
    env: {},
    systemDirs: [],
    systemIncludeDirs: [],
  });
  const message = cudaUnavailableMessage({ ...discovery, missing: [] }, { gpus: [] });
  assert.match(
    message!,
    /^--backend cuda cannot run: the driver sees no GPU \(CUDA_VISIBLE_DEVICES=/,
  );
});

test('everything present: no message', () => {
  const discovery = discoverCuda({
    cudaHome: empty,
    env: {},
    systemDirs: [],
    systemIncludeDirs: [],
  });
  const gpus = [
    {
      index: 0,
      name: 'NVIDIA H100 80GB HBM3',
      computeCapability: [9, 0] as [number, number],
      memoryBytes: 85e9,
    },
  ];
  assert.equal(cudaUnavailableMessage({ ...discovery, missing: [] }, { gpus }), undefined);
});

test('on this machine (no NVIDIA driver) cudaAvailability says so instead of throwing', (t) => {
  let driverPresent = true;
  try {
    CudaDriver.load();
  } catch {
    driverPresent = false;
  }
  if (driverPresent) return t.skip('an NVIDIA driver is installed here');
  const availability = cudaAvailability({
    cudaHome: empty,
    env: {},
    systemDirs: [empty],
    systemIncludeDirs: [],
  });
  assert.deepEqual(availability.gpus, []);
  assert.match(
    availability.unavailable!,
    /cannot load the NVIDIA driver \(libcuda\.so\.1\) from libcuda\.so\.1/,
  );
  assert.match(availability.ncclMissing!, /^NCCL \(libnccl\.so\.2\) not in /);
});
