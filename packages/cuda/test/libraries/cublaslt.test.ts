/**
 * The cuBLASLt bindings against a mock libcublasLt built here with the C compiler (no GPU): the
 * descriptor and layout attributes arrive as cuBLASLt reads them, and the engine's row-major
 * linear layer and batched head GEMMs come out as the maths says.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import koffi from 'koffi';
import { CublasLt } from '../../src/libraries/cublaslt.js';
import type { CudaDiscovery } from '../../src/libraries/discovery.js';
import { assertClose, seeded } from '../../../../test/support/close.js';

const dir = mkdtempSync(join(tmpdir(), 'ner-mock-cublaslt-'));
const library = join(dir, 'libcublasLt.so.13');
const skip =
  spawnSync('cc', ['--version']).status === 0
    ? false
    : 'no C compiler to build the mock libcublasLt';
let blas: CublasLt;
const allocations: unknown[] = [];

/** Host memory standing in for a device buffer: its address and a float view. */
function buffer(values: ArrayLike<number>): { ptr: bigint; view: Float32Array } {
  const native = koffi.alloc('float', Math.max(values.length, 1));
  allocations.push(native);
  const view = new Float32Array(koffi.view(native, 4 * Math.max(values.length, 1)));
  view.set(values);
  return { ptr: koffi.address(native), view };
}

before(() => {
  if (skip) return;
  const source = fileURLToPath(new URL('../fixtures/mock-libcublaslt.c', import.meta.url));
  const built = spawnSync('cc', ['-shared', '-fPIC', '-O1', '-o', library, source], {
    encoding: 'utf8',
  });
  assert.equal(built.status, 0, built.stderr);
  const discovery: CudaDiscovery = {
    libraries: { cublasLt: { name: 'cublasLt', path: library, version: '13' } },
    missing: [],
    searched: [dir],
  };
  blas = new CublasLt(discovery, buffer(new Float32Array(64)).ptr, 256, null);
});
after(() => {
  if (!skip) blas.dispose();
  for (const native of allocations) koffi.free(native);
  rmSync(dir, { recursive: true, force: true });
});

test(
  'y = x W^T + b for row-major x [M, in] and W [out, in] (the engine linear layer)',
  { skip },
  () => {
    const [rows, inF, outF] = [5, 7, 3];
    const x = seeded(rows * inF, 1);
    const w = seeded(outF * inF, 2);
    const b = seeded(outF, 3);
    const [px, pw, pb, py] = [
      buffer(x),
      buffer(w),
      buffer(b),
      buffer(new Float32Array(rows * outF)),
    ];
    blas.matmul(
      {
        transA: true,
        transB: false,
        m: outF,
        n: rows,
        k: inF,
        lda: inF,
        ldb: inF,
        ldc: outF,
        aType: 'f32',
        bType: 'f32',
        cType: 'f32',
        bias: true,
      },
      pw.ptr,
      px.ptr,
      py.ptr,
      1,
      0,
      pb.ptr,
    );
    const expected = Array.from({ length: rows * outF }, (_, i) => {
      const [r, o] = [Math.floor(i / outF), i % outF];
      let s = b[o]!;
      for (let p = 0; p < inF; p++) s += x[r * inF + p]! * w[o * inF + p]!;
      return s;
    });
    assertClose(py.view, expected, 'y', 1e-5);
    // The same plan again (cached) with beta 1 accumulates.
    blas.matmul(
      {
        transA: true,
        transB: false,
        m: outF,
        n: rows,
        k: inF,
        lda: inF,
        ldb: inF,
        ldc: outF,
        aType: 'f32',
        bType: 'f32',
        cType: 'f32',
        bias: true,
      },
      pw.ptr,
      px.ptr,
      py.ptr,
      1,
      1,
      pb.ptr,
    );
    assertClose(
      py.view,
      expected.map((v) => 2 * v),
      'y accumulated',
      1e-5,
    );
  },
);

test('batched scores = scale q k^T per head (strided batch)', { skip }, () => {
  const [heads, t, d] = [3, 4, 2];
  const q = seeded(heads * t * d, 4);
  const k = seeded(heads * t * d, 5);
  const [pq, pk, ps] = [buffer(q), buffer(k), buffer(new Float32Array(heads * t * t))];
  blas.matmul(
    {
      transA: true,
      transB: false,
      m: t,
      n: t,
      k: d,
      lda: d,
      ldb: d,
      ldc: t,
      aType: 'f32',
      bType: 'f32',
      cType: 'f32',
      batch: { count: heads, strideA: t * d, strideB: t * d, strideC: t * t },
    },
    pk.ptr,
    pq.ptr,
    ps.ptr,
    0.5,
    0,
  );
  const expected = Array.from({ length: heads * t * t }, (_, idx) => {
    const [h, i, j] = [Math.floor(idx / (t * t)), Math.floor(idx / t) % t, idx % t];
    let s = 0;
    for (let e = 0; e < d; e++) s += q[(h * t + i) * d + e]! * k[(h * t + j) * d + e]!;
    return 0.5 * s;
  });
  assertClose(ps.view, expected, 'scores', 1e-6);
});
