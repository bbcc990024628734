import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { compileKernelFile } from '../../src/kernels/compile.js';
import { PRECISIONS } from '../../src/kernels/precision.js';
import { KERNEL_FILES, type KernelFile } from '../../src/kernels/sources.js';
import { loadNvrtc, NvrtcCompileError } from '../../src/libraries/nvrtc.js';
import { venvCuda } from '../support/venv-cuda.js';

const found = venvCuda();
const skip = 'skip' in found ? found.skip : false;
const cacheDir = mkdtempSync(join(tmpdir(), 'ner-cuda-cache-'));
after(() => rmSync(cacheDir, { recursive: true, force: true }));

const ELF_MAGIC = [0x7f, 0x45, 0x4c, 0x46];

describe('every kernel file compiles with NVRTC to CUBIN', { skip }, () => {
  for (const arch of [80, 90])
    for (const precision of PRECISIONS)
      test(`for sm_${arch} at ${precision}`, () => {
        if (!('discovery' in found)) return;
        const nvrtc = loadNvrtc(found.discovery);
        for (const file of Object.keys(KERNEL_FILES) as KernelFile[]) {
          const { cubin, cached } = compileKernelFile(nvrtc, file, arch, precision, { cacheDir });
          // tf32 shares fp32's kernels (the cuBLASLt compute type differs), so it is cached.
          assert.equal(cached, precision === 'tf32', `${file} sm_${arch} ${precision} cache state`);
          assert.deepEqual([...cubin.subarray(0, 4)], ELF_MAGIC, `${file} is a CUBIN (ELF)`);
        }
      });

  test('a second compile of the same source comes from the disk cache', () => {
    if (!('discovery' in found)) return;
    const nvrtc = loadNvrtc(found.discovery);
    const first = compileKernelFile(nvrtc, 'adamw.cu', 90, 'bf16', { cacheDir });
    const again = compileKernelFile(nvrtc, 'adamw.cu', 90, 'bf16', { cacheDir });
    assert.equal(again.cached, true);
    assert.deepEqual(again.cubin, first.cubin);
    assert.ok(
      readdirSync(cacheDir).some(
        (name) => name.startsWith('adamw-sm90-bf16-') && name.endsWith('.cubin'),
      ),
    );
  });

  test('a compile error carries the file name and NVRTC log', () => {
    if (!('discovery' in found)) return;
    const nvrtc = loadNvrtc(found.discovery);
    assert.throws(
      () =>
        nvrtc.compile('extern "C" __global__ void broken() { undefined_name; }', 'broken.cu', {
          arch: 90,
        }),
      (error: unknown) =>
        error instanceof NvrtcCompileError &&
        /broken\.cu \(sm_90\): NVRTC_ERROR_COMPILATION/.test(error.message) &&
        /undefined_name/.test(error.message),
    );
  });
});
