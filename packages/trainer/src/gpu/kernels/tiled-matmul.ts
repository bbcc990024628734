/**
 * Tiled (batched) matmul C[b] = op(A[b]) · op(B[b]), op = optional transpose: 64×64 output
 * tiles per 16×16 workgroup, 4×4 outputs per thread held in registers, K in steps of 16
 * through workgroup memory, fused multiply-add in float32. A batch of 1 broadcasts.
 */
import type * as tf from '@tensorflow/tfjs-core';

import { runProgram, type WebgpuProgram } from './webgpu-program.js';

const TILE = 64;
const TILE_K = 16;
const THREADS = 16; // per dimension; each thread computes (TILE/THREADS)^2 = 16 outputs

/** Shapes of one batched matmul. */
export interface MatmulShape {
  batch: number;
  m: number;
  n: number;
  k: number;
  /** A is stored [batchA, k, m] instead of [batchA, m, k]. */
  transposeA: boolean;
  /** B is stored [batchB, n, k] instead of [batchB, k, n]. */
  transposeB: boolean;
  /** 1 (broadcast) or `batch`. */
  batchA: number;
  batchB: number;
}

/** The WGSL program: inputs A, B → [batch, m, n]. */
export class TiledMatmulProgram implements WebgpuProgram {
  variableNames = ['A', 'B'];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout = { x: [2], y: [1], z: [0] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [THREADS, THREADS, 1];
  uniforms = 'm : i32, n : i32, k : i32, batchA : i32, batchB : i32,';

  constructor(readonly shape: MatmulShape) {
    this.outputShape = [shape.batch, shape.m, shape.n];
    this.shaderKey = `ner_tiled_matmul_${shape.transposeA}_${shape.transposeB}`;
    this.dispatch = [Math.ceil(shape.n / TILE), Math.ceil(shape.m / TILE), shape.batch];
  }

  getUserCode(): string {
    const per = TILE / THREADS;
    const loads = (TILE * TILE_K) / (THREADS * THREADS);
    const aIndex = this.shape.transposeA
      ? 'ab * K * M + kk * M + row'
      : 'ab * M * K + row * K + kk';
    const bIndex = this.shape.transposeB
      ? 'bb * N * K + col * K + kk'
      : 'bb * K * N + kk * N + col';
    return `
      var<workgroup> tileA : array<array<f32, ${TILE_K}>, ${TILE}>;
      var<workgroup> tileB : array<array<f32, ${TILE}>, ${TILE_K}>;
      fn loadA(batch : i32, row : i32, kk : i32) -> f32 {
        let M = uniforms.m;
        let K = uniforms.k;
        let ab = select(batch, 0, uniforms.batchA == 1);
        if (row < M && kk < K) { return A[${aIndex}]; }
        return 0.0;
      }
      fn loadB(batch : i32, kk : i32, col : i32) -> f32 {
        let N = uniforms.n;
        let K = uniforms.k;
        let bb = select(batch, 0, uniforms.batchB == 1);
        if (kk < K && col < N) { return B[${bIndex}]; }
        return 0.0;
      }
      fn main() {
        let batch = i32(workgroupId.z);
        let tileRow = i32(workgroupId.y) * ${TILE};
        let tileCol = i32(workgroupId.x) * ${TILE};
        let tid = i32(localIndex);
        let tr = i32(localId.y) * ${per};
        let tc = i32(localId.x) * ${per};
        var acc : array<array<f32, ${per}>, ${per}>;
        let numTiles = (uniforms.k + ${TILE_K - 1}) / ${TILE_K};
        for (var t = 0; t < numTiles; t++) {
          for (var i = 0; i < ${loads}; i++) {
            let e = tid + i * ${THREADS * THREADS};
            tileA[e / ${TILE_K}][e % ${TILE_K}] = loadA(batch, tileRow + e / ${TILE_K}, t * ${TILE_K} + e % ${TILE_K});
            tileB[e / ${TILE}][e % ${TILE}] = loadB(batch, t * ${TILE_K} + e / ${TILE}, tileCol + e % ${TILE});
          }
          workgroupBarrier();
          for (var kk = 0; kk < ${TILE_K}; kk++) {
            var bv : array<f32, ${per}>;
            for (var j = 0; j < ${per}; j++) { bv[j] = tileB[kk][tc + j]; }
            for (var i = 0; i < ${per}; i++) {
              let a = tileA[tr + i][kk];
              for (var j = 0; j < ${per}; j++) { acc[i][j] = fma(a, bv[j], acc[i][j]); }
            }
          }
          workgroupBarrier();
        }
        for (var i = 0; i < ${per}; i++) {
          let row = tileRow + tr + i;
          for (var j = 0; j < ${per}; j++) {
            let col = tileCol + tc + j;
            if (row < uniforms.m && col < uniforms.n) {
              result[(batch * uniforms.m + row) * uniforms.n + col] = acc[i][j];
            }
          }
        }
      }
    `;
  }
}

/** Shape of op(a)·op(b) for 3-D a, b (as tf.matMul with batch dims), with checks. */
export function matmulShape(
  aShape: readonly number[],
  bShape: readonly number[],
  transposeA = false,
  transposeB = false,
): MatmulShape {
  if (aShape.length !== 3 || bShape.length !== 3)
    throw new RangeError(`tiled matmul takes 3-D operands, got [${aShape}] and [${bShape}]`);
  const [batchA, a1, a2] = aShape;
  const [batchB, b1, b2] = bShape;
  const [m, k] = transposeA ? [a2, a1] : [a1, a2];
  const [kb, n] = transposeB ? [b2, b1] : [b1, b2];
  if (k !== kb) throw new RangeError(`tiled matmul: inner dimensions differ (${k} vs ${kb})`);
  if (batchA !== batchB && batchA !== 1 && batchB !== 1)
    throw new RangeError(`tiled matmul: batch sizes ${batchA} and ${batchB} do not broadcast`);
  return { batch: Math.max(batchA, batchB), m, n, k, transposeA, transposeB, batchA, batchB };
}

/** op(a)·op(b) on WebGPU for 3-D a, b → [batch, m, n]. */
export function tiledMatmulWebgpu(
  a: tf.Tensor3D,
  b: tf.Tensor3D,
  transposeA = false,
  transposeB = false,
): tf.Tensor3D {
  const s = matmulShape(a.shape, b.shape, transposeA, transposeB);
  return runProgram(
    new TiledMatmulProgram(s),
    [a, b],
    [
      { type: 'int32', data: [s.m] },
      { type: 'int32', data: [s.n] },
      { type: 'int32', data: [s.k] },
      { type: 'int32', data: [s.batchA] },
      { type: 'int32', data: [s.batchB] },
    ],
  ) as tf.Tensor3D;
}

/** CPU reference (float64), same storage conventions; returns [batch, m, n] row-major. */
export function tiledMatmulReference(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  s: MatmulShape,
): Float64Array {
  const { m, n, k } = s;
  const out = new Float64Array(s.batch * m * n);
  for (let batch = 0; batch < s.batch; batch++) {
    const ab = s.batchA === 1 ? 0 : batch;
    const bb = s.batchB === 1 ? 0 : batch;
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        let acc = 0;
        for (let kk = 0; kk < k; kk++) {
          const av = s.transposeA ? a[ab * k * m + kk * m + i] : a[ab * m * k + i * k + kk];
          const bv = s.transposeB ? b[bb * n * k + j * k + kk] : b[bb * k * n + kk * n + j];
          acc += av * bv;
        }
        out[(batch * m + i) * n + j] = acc;
      }
  }
  return out;
}
