/**
 * Fused residual + LayerNorm (every BERT sub-layer ends in LayerNorm(x + residual)): one
 * workgroup per row computes h = x + r, its mean and variance by workgroup reductions and
 * writes the normalised row, instead of tfjs's add, moments, sub, mul, rsqrt, ... chain.
 * Backward: dh = rstd·(g − mean(g) − x̂·mean(g·x̂)) with g = dy·γ (dh is both dx and dr);
 * dγ = Σ_rows dy·x̂, dβ = Σ_rows dy from the per-row statistics.
 */
import * as tf from '@tensorflow/tfjs-core';

import { dispatchFor, runProgram, type WebgpuProgram } from './webgpu-program.js';

const WORKGROUP = 256;

/** What one dispatch computes. */
export type LayerNormMode = 'forward' | 'stats' | 'backward' | 'paramGrad';

const ROW_REDUCTIONS = `
  var<workgroup> redA : array<f32, ${WORKGROUP}>;
  var<workgroup> redB : array<f32, ${WORKGROUP}>;
  // Sums redA and redB over the workgroup (every invocation must call it).
  fn reduceAB(tid : i32) {
    workgroupBarrier();
    for (var stride = ${WORKGROUP / 2}; stride > 0; stride = stride / 2) {
      if (tid < stride) {
        redA[tid] = redA[tid] + redA[tid + stride];
        redB[tid] = redB[tid] + redB[tid + stride];
      }
      workgroupBarrier();
    }
  }
`;

/** Residual+LayerNorm programs; inputs by mode: forward X,R,Gamma,Beta; stats X,R; backward X,R,Gamma,Dy; paramGrad X,R,Dy,Stats. */
export class ResidualLayerNormProgram implements WebgpuProgram {
  variableNames: string[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[]; y?: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [WORKGROUP, 1, 1];
  uniforms = 'rows : i32, cols : i32, eps : f32,';

  constructor(
    readonly rows: number,
    readonly cols: number,
    readonly mode: LayerNormMode,
  ) {
    this.variableNames = {
      forward: ['X', 'R', 'Gamma', 'Beta'],
      stats: ['X', 'R'],
      backward: ['X', 'R', 'Gamma', 'Dy'],
      paramGrad: ['X', 'R', 'Dy', 'Stats'],
    }[mode];
    this.shaderKey = `ner_residual_layer_norm_${mode}`;
    if (mode === 'paramGrad') {
      // One thread per column, looping over rows: [2, cols] = (dγ, dβ).
      this.outputShape = [2, cols];
      this.dispatchLayout = { x: [0, 1] };
      this.dispatch = dispatchFor(Math.ceil(cols / WORKGROUP));
    } else {
      this.outputShape = mode === 'stats' ? [rows, 2] : [rows, cols];
      // Not a flat layout: tfjs then calls main() and we index rows by workgroup id.
      this.dispatchLayout = { x: [1], y: [0] };
      this.dispatch = dispatchFor(rows);
    }
  }

  getUserCode(): string {
    if (this.mode === 'paramGrad')
      return `
      fn main(index : i32) {
        let c = index;
        if (c >= uniforms.cols) { return; }
        var dg = 0.0;
        var db = 0.0;
        for (var r = 0; r < uniforms.rows; r++) {
          let i = r * uniforms.cols + c;
          let xhat = (X[i] + R[i] - Stats[2 * r]) * Stats[2 * r + 1];
          dg = dg + Dy[i] * xhat;
          db = db + Dy[i];
        }
        result[c] = dg;
        result[uniforms.cols + c] = db;
      }`;
    const tail = {
      forward: `
        for (var c = tid; c < n; c = c + ${WORKGROUP}) {
          if (valid) {
            result[base + c] = (X[base + c] + R[base + c] - mean) * rstd * Gamma[c] + Beta[c];
          }
        }`,
      stats: `
        if (valid && tid == 0) {
          result[2 * row] = mean;
          result[2 * row + 1] = rstd;
        }`,
      backward: `
        var sa = 0.0;
        var sb = 0.0;
        for (var c = tid; c < n; c = c + ${WORKGROUP}) {
          if (valid) {
            let g = Dy[base + c] * Gamma[c];
            let xhat = (X[base + c] + R[base + c] - mean) * rstd;
            sa = sa + g;
            sb = sb + g * xhat;
          }
        }
        redA[tid] = sa;
        redB[tid] = sb;
        reduceAB(tid);
        let meanG = redA[0] / f32(n);
        let meanGX = redB[0] / f32(n);
        for (var c = tid; c < n; c = c + ${WORKGROUP}) {
          if (valid) {
            let g = Dy[base + c] * Gamma[c];
            let xhat = (X[base + c] + R[base + c] - mean) * rstd;
            result[base + c] = rstd * (g - meanG - xhat * meanGX);
          }
        }`,
    }[this.mode];
    return `
      ${ROW_REDUCTIONS}
      fn main() {
        let row = i32(workgroupId.y * numWorkgroups.x + workgroupId.x);
        let tid = i32(localIndex);
        let n = uniforms.cols;
        // No early return: barriers need every invocation of the workgroup.
        let valid = row < uniforms.rows;
        let base = select(0, row * n, valid);
        var s = 0.0;
        for (var c = tid; c < n; c = c + ${WORKGROUP}) {
          if (valid) { s = s + X[base + c] + R[base + c]; }
        }
        redA[tid] = s;
        redB[tid] = 0.0;
        reduceAB(tid);
        let mean = redA[0] / f32(n);
        workgroupBarrier();
        var q = 0.0;
        for (var c = tid; c < n; c = c + ${WORKGROUP}) {
          if (valid) {
            let d = X[base + c] + R[base + c] - mean;
            q = q + d * d;
          }
        }
        redA[tid] = q;
        redB[tid] = 0.0;
        reduceAB(tid);
        let rstd = inverseSqrt(redA[0] / f32(n) + uniforms.eps);
        workgroupBarrier();
        ${tail}
      }
    `;
  }
}

function rowsCols(x: tf.Tensor, cols: number): [number, number] {
  if (x.size % cols !== 0)
    throw new RangeError(`LayerNorm: x of shape [${x.shape}] does not end in ${cols}`);
  return [x.size / cols, cols];
}

function uniformsOf(rows: number, cols: number, eps: number) {
  return [
    { type: 'int32' as const, data: [rows] },
    { type: 'int32' as const, data: [cols] },
    { type: 'float32' as const, data: [eps] },
  ];
}

/** LayerNorm(x + residual)·γ + β on WebGPU (last axis), shape of x. */
export function residualLayerNormWebgpu(
  x: tf.Tensor,
  residual: tf.Tensor,
  gamma: tf.Tensor1D,
  beta: tf.Tensor1D,
  eps: number,
): tf.Tensor {
  const [rows, cols] = rowsCols(x, gamma.size);
  const y = runProgram(
    new ResidualLayerNormProgram(rows, cols, 'forward'),
    [x, residual, gamma, beta],
    uniformsOf(rows, cols, eps),
  );
  return tf.reshape(y, x.shape);
}

/** Gradients of residualLayerNormWebgpu: dh (= dx = dresidual), dγ, dβ. */
export function residualLayerNormBackwardWebgpu(
  x: tf.Tensor,
  residual: tf.Tensor,
  gamma: tf.Tensor1D,
  dy: tf.Tensor,
  eps: number,
): { dh: tf.Tensor; dGamma: tf.Tensor1D; dBeta: tf.Tensor1D } {
  const [rows, cols] = rowsCols(x, gamma.size);
  const u = uniformsOf(rows, cols, eps);
  const dh = runProgram(
    new ResidualLayerNormProgram(rows, cols, 'backward'),
    [x, residual, gamma, dy],
    u,
  );
  const stats = runProgram(new ResidualLayerNormProgram(rows, cols, 'stats'), [x, residual], u);
  const pg = runProgram(
    new ResidualLayerNormProgram(rows, cols, 'paramGrad'),
    [x, residual, dy, stats],
    u,
  );
  const [dGamma, dBeta] = tf.unstack(tf.reshape(pg, [2, cols])) as [tf.Tensor1D, tf.Tensor1D];
  tf.dispose([stats, pg]);
  return { dh: tf.reshape(dh, x.shape), dGamma, dBeta };
}

/** CPU reference (float64) of the forward, row-major [rows, cols]. */
export function residualLayerNormReference(
  x: ArrayLike<number>,
  residual: ArrayLike<number>,
  gamma: ArrayLike<number>,
  beta: ArrayLike<number>,
  eps: number,
): Float64Array {
  const cols = gamma.length;
  const out = new Float64Array(x.length);
  for (let base = 0; base < x.length; base += cols) {
    const { mean, rstd } = rowStats(x, residual, base, cols, eps);
    for (let c = 0; c < cols; c++)
      out[base + c] = (x[base + c] + residual[base + c] - mean) * rstd * gamma[c] + beta[c];
  }
  return out;
}

function rowStats(
  x: ArrayLike<number>,
  r: ArrayLike<number>,
  base: number,
  cols: number,
  eps: number,
) {
  let s = 0;
  for (let c = 0; c < cols; c++) s += x[base + c] + r[base + c];
  const mean = s / cols;
  let q = 0;
  for (let c = 0; c < cols; c++) q += (x[base + c] + r[base + c] - mean) ** 2;
  return { mean, rstd: 1 / Math.sqrt(q / cols + eps) };
}

/** CPU reference (float64) of the backward. */
export function residualLayerNormBackwardReference(
  x: ArrayLike<number>,
  residual: ArrayLike<number>,
  gamma: ArrayLike<number>,
  dy: ArrayLike<number>,
  eps: number,
): { dh: Float64Array; dGamma: Float64Array; dBeta: Float64Array } {
  const cols = gamma.length;
  const dh = new Float64Array(x.length);
  const dGamma = new Float64Array(cols);
  const dBeta = new Float64Array(cols);
  for (let base = 0; base < x.length; base += cols) {
    const { mean, rstd } = rowStats(x, residual, base, cols, eps);
    let sa = 0;
    let sb = 0;
    for (let c = 0; c < cols; c++) {
      const xhat = (x[base + c] + residual[base + c] - mean) * rstd;
      const g = dy[base + c] * gamma[c];
      sa += g;
      sb += g * xhat;
      dGamma[c] += dy[base + c] * xhat;
      dBeta[c] += dy[base + c];
    }
    for (let c = 0; c < cols; c++) {
      const xhat = (x[base + c] + residual[base + c] - mean) * rstd;
      dh[base + c] = rstd * (dy[base + c] * gamma[c] - sa / cols - xhat * (sb / cols));
    }
  }
  return { dh, dGamma, dBeta };
}
