import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { discoverCuda } from '../../src/libraries/discovery.js';

const root = mkdtempSync(join(tmpdir(), 'ner-cuda-discovery-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** Empty files standing in for libraries: discovery only looks at names. */
function fake(dir: string, files: string[]): string {
  const full = join(root, dir);
  mkdirSync(full, { recursive: true });
  for (const file of files) {
    mkdirSync(join(full, file, '..'), { recursive: true });
    writeFileSync(join(full, file), '');
  }
  return full;
}

test('a CUDA 12 toolkit under --cuda_home provides every library but the driver and NCCL', () => {
  const home = fake('toolkit12', [
    'lib64/libnvrtc.so.12',
    'lib64/libnvrtc-builtins.so.12.9',
    'lib64/libcublasLt.so.12',
    'lib64/libcublasLt.so.12.9.1.4',
    'include/cuda_bf16.h',
  ]);
  const found = discoverCuda({ cudaHome: home, env: {}, systemDirs: [], systemIncludeDirs: [] });
  assert.equal(found.libraries.nvrtc?.path, join(home, 'lib64/libnvrtc.so.12'));
  assert.equal(found.libraries.nvrtc?.version, '12.9');
  assert.equal(found.libraries.nvrtcBuiltins?.path, join(home, 'lib64/libnvrtc-builtins.so.12.9'));
  assert.equal(found.libraries.cublasLt?.version, '12.9.1.4');
  assert.equal(found.includeDir, join(home, 'include'));
  assert.deepEqual(found.missing.map((m) => m.name).sort(), ['driver', 'nccl']);
});

test("a Python environment's cu13 wheels (nvidia/cu13/lib) are found through site-packages", () => {
  const site = fake('site13', [
    'nvidia/cu13/lib/libnvrtc.so.13',
    'nvidia/cu13/lib/libnvrtc-builtins.so.13.0',
    'nvidia/cu13/lib/libcublasLt.so.13',
    'nvidia/cu13/include/cuda_bf16.h',
    'nvidia/nccl/lib/libnccl.so.2',
  ]);
  const found = discoverCuda({
    sitePackages: [site],
    env: {},
    systemDirs: [],
    systemIncludeDirs: [],
  });
  assert.equal(found.libraries.nvrtc?.path, join(site, 'nvidia/cu13/lib/libnvrtc.so.13'));
  assert.equal(found.libraries.nvrtc?.version, '13.0');
  assert.equal(found.libraries.nccl?.path, join(site, 'nvidia/nccl/lib/libnccl.so.2'));
  assert.equal(found.includeDir, join(site, 'nvidia/cu13/include'));
});

test('--cuda_home wins over CUDA_HOME, which wins over LD_LIBRARY_PATH and site-packages', () => {
  const flag = fake('order-flag', ['lib64/libcublasLt.so.12']);
  const env = fake('order-env', ['lib64/libcublasLt.so.12']);
  const ld = fake('order-ld', ['libcublasLt.so.12']);
  const site = fake('order-site', ['nvidia/cublas/lib/libcublasLt.so.12']);
  const options = {
    env: { CUDA_HOME: env, LD_LIBRARY_PATH: ld },
    sitePackages: [site],
    systemDirs: [],
    systemIncludeDirs: [],
  };
  assert.equal(
    discoverCuda({ ...options, cudaHome: flag }).libraries.cublasLt?.path,
    join(flag, 'lib64/libcublasLt.so.12'),
  );
  assert.equal(
    discoverCuda(options).libraries.cublasLt?.path,
    join(env, 'lib64/libcublasLt.so.12'),
  );
  assert.equal(
    discoverCuda({ ...options, env: { LD_LIBRARY_PATH: ld } }).libraries.cublasLt?.path,
    join(ld, 'libcublasLt.so.12'),
  );
  assert.equal(
    discoverCuda({ ...options, env: {} }).libraries.cublasLt?.path,
    join(site, 'nvidia/cublas/lib/libcublasLt.so.12'),
  );
});

test('CUDA 13 is preferred to 12 wherever each is found', () => {
  const twelve = fake('prefer12', ['libnvrtc.so.12', 'libnvrtc-builtins.so.12.9']);
  const thirteen = fake('prefer13', ['libnvrtc.so.13', 'libnvrtc-builtins.so.13.0']);
  const found = discoverCuda({
    env: { LD_LIBRARY_PATH: `${twelve}:${thirteen}` },
    systemDirs: [],
    systemIncludeDirs: [],
  });
  assert.equal(found.libraries.nvrtc?.path, join(thirteen, 'libnvrtc.so.13'));
});

test('NVRTC without builtins of its own major version reports the builtins missing beside it', () => {
  const dir = fake('mismatch', ['libnvrtc.so.13', 'libnvrtc-builtins.so.12.9']);
  const found = discoverCuda({
    env: { LD_LIBRARY_PATH: dir },
    systemDirs: [],
    systemIncludeDirs: [],
  });
  assert.equal(found.libraries.nvrtcBuiltins, undefined);
  assert.deepEqual(
    found.missing.find((m) => m.name === 'nvrtcBuiltins'),
    { name: 'nvrtcBuiltins', lookedFor: ['libnvrtc-builtins.so.13.*'], searched: [dir] },
  );
});

test('nothing installed: every library is missing, with the patterns and the folders searched', () => {
  const empty = fake('empty', []);
  const found = discoverCuda({ cudaHome: empty, env: {}, systemDirs: [], systemIncludeDirs: [] });
  assert.deepEqual(found.libraries, {});
  assert.deepEqual(
    found.missing.map((m) => m.name),
    ['driver', 'nvrtc', 'cublasLt', 'nccl', 'cudaHeaders'],
  );
  const nvrtc = found.missing.find((m) => m.name === 'nvrtc')!;
  assert.deepEqual(nvrtc.lookedFor, ['libnvrtc.so.13', 'libnvrtc.so.12']);
  assert.deepEqual(nvrtc.searched, [
    join(empty, 'lib64'),
    join(empty, 'lib'),
    join(empty, 'targets/x86_64-linux/lib'),
  ]);
});

test('a Python that cannot be run contributes no folders instead of failing', () => {
  const found = discoverCuda({
    python: join(root, 'no-such-python'),
    env: {},
    systemDirs: [],
    systemIncludeDirs: [],
  });
  assert.ok(found.searched.every((dir) => !dir.includes('site-packages')));
});
