/**
 * Fused self-attention for BERT: softmax(Q·Kᵀ·scale + mask)·V per (batch, head), without
 * materialising the [B, H, S, S] scores in GPU memory: one workgroup per query row keeps its
 * S scores in workgroup memory. Backward as FlashAttention does it, from per-row statistics
 * (logsumexp and Dᵢ = dOᵢ·Oᵢ): one workgroup per query row for dQ, one per key row for dK, dV.
 * Q, K, V, O are [B, H, S, D]; the mask is additive per key, [B, S] (0 keeps, large negative
 * hides), as BERT's extended attention mask.
 */
import * as tf from '@tensorflow/tfjs-core';

import { dispatchFor, runProgram, type WebgpuProgram } from './webgpu-program.js';

const WORKGROUP = 64;
/** Longest sequence and head size the workgroup-memory layout supports. */
export const ATTENTION_MAX_SEQ = 1024;
export const ATTENTION_MAX_HEAD = 128;

/** Dimensions of one attention call. */
export interface AttentionDims {
  batch: number;
  heads: number;
  seq: number;
  headDim: number;
  scale: number;
}

/** What one dispatch computes. */
export type AttentionMode = 'forward' | 'stats' | 'dq' | 'dkv';

const INPUTS: Record<AttentionMode, string[]> = {
  forward: ['Q', 'K', 'V', 'Mask'],
  stats: ['Q', 'K', 'Mask', 'DO', 'O'],
  dq: ['Q', 'K', 'V', 'Mask', 'DO', 'Stats'],
  dkv: ['Q', 'K', 'V', 'Mask', 'DO', 'Stats'],
};

/** The attention programs; one workgroup per (b, h, row). */
export class FusedAttentionProgram implements WebgpuProgram {
  variableNames: string[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout = { x: [1], y: [0] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [WORKGROUP, 1, 1];
  uniforms = 'heads : i32, seq : i32, headDim : i32, scale : f32, rows : i32,';

  constructor(
    readonly dims: AttentionDims,
    readonly mode: AttentionMode,
  ) {
    checkDims(dims);
    const rows = dims.batch * dims.heads * dims.seq;
    this.variableNames = INPUTS[mode];
    this.shaderKey = `ner_fused_attention_${mode}`;
    this.outputShape = {
      forward: [rows, dims.headDim],
      stats: [rows, 2],
      dq: [rows, dims.headDim],
      dkv: [rows, 2 * dims.headDim],
    }[mode];
    this.dispatch = dispatchFor(rows);
  }

  getUserCode(): string {
    const common = `
      var<workgroup> rowVec : array<f32, ${ATTENTION_MAX_HEAD}>;
      var<workgroup> rowVec2 : array<f32, ${ATTENTION_MAX_HEAD}>;
      var<workgroup> p : array<f32, ${ATTENTION_MAX_SEQ}>;
      var<workgroup> ds : array<f32, ${ATTENTION_MAX_SEQ}>;
      var<workgroup> red : array<f32, ${WORKGROUP}>;
      fn reduceMax(tid : i32, v : f32) -> f32 {
        red[tid] = v;
        workgroupBarrier();
        for (var s = ${WORKGROUP / 2}; s > 0; s = s / 2) {
          if (tid < s) { red[tid] = max(red[tid], red[tid + s]); }
          workgroupBarrier();
        }
        let r = red[0];
        workgroupBarrier();
        return r;
      }
      fn reduceSum(tid : i32, v : f32) -> f32 {
        red[tid] = v;
        workgroupBarrier();
        for (var s = ${WORKGROUP / 2}; s > 0; s = s / 2) {
          if (tid < s) { red[tid] = red[tid] + red[tid + s]; }
          workgroupBarrier();
        }
        let r = red[0];
        workgroupBarrier();
        return r;
      }
    `;
    const prologue = `
        let row = i32(workgroupId.y * numWorkgroups.x + workgroupId.x);
        let tid = i32(localIndex);
        let valid = row < uniforms.rows;
        let r = select(0, row, valid);
        let S = uniforms.seq;
        let D = uniforms.headDim;
        let bh = r / S;                       // (b, h) block
        let b = bh / uniforms.heads;
        let blockBase = bh * S * D;           // first row of this (b, h) block
    `;
    const bodies: Record<AttentionMode, string> = {
      forward: `
        for (var d = tid; d < D; d = d + ${WORKGROUP}) { rowVec[d] = Q[r * D + d]; }
        workgroupBarrier();
        var m = -3.0e38;
        for (var j = tid; j < S; j = j + ${WORKGROUP}) {
          var acc = 0.0;
          for (var d = 0; d < D; d++) { acc = fma(rowVec[d], K[blockBase + j * D + d], acc); }
          let s = acc * uniforms.scale + Mask[b * S + j];
          p[j] = s;
          m = max(m, s);
        }
        let rowMax = reduceMax(tid, m);
        var z = 0.0;
        for (var j = tid; j < S; j = j + ${WORKGROUP}) {
          let e = exp(p[j] - rowMax);
          p[j] = e;
          z = z + e;
        }
        let total = reduceSum(tid, z);
        for (var d = tid; d < D; d = d + ${WORKGROUP}) {
          var acc = 0.0;
          for (var j = 0; j < S; j++) { acc = fma(p[j], V[blockBase + j * D + d], acc); }
          if (valid) { result[r * D + d] = acc / total; }
        }`,
      stats: `
        for (var d = tid; d < D; d = d + ${WORKGROUP}) { rowVec[d] = Q[r * D + d]; }
        workgroupBarrier();
        var m = -3.0e38;
        for (var j = tid; j < S; j = j + ${WORKGROUP}) {
          var acc = 0.0;
          for (var d = 0; d < D; d++) { acc = fma(rowVec[d], K[blockBase + j * D + d], acc); }
          let s = acc * uniforms.scale + Mask[b * S + j];
          p[j] = s;
          m = max(m, s);
        }
        let rowMax = reduceMax(tid, m);
        var z = 0.0;
        for (var j = tid; j < S; j = j + ${WORKGROUP}) { z = z + exp(p[j] - rowMax); }
        let total = reduceSum(tid, z);
        var di = 0.0;
        for (var d = tid; d < D; d = d + ${WORKGROUP}) { di = fma(DO[r * D + d], O[r * D + d], di); }
        let dSum = reduceSum(tid, di);
        if (valid && tid == 0) {
          result[2 * r] = rowMax + log(total);
          result[2 * r + 1] = dSum;
        }`,
      dq: `
        for (var d = tid; d < D; d = d + ${WORKGROUP}) {
          rowVec[d] = Q[r * D + d];
          rowVec2[d] = DO[r * D + d];
        }
        workgroupBarrier();
        let lse = Stats[2 * r];
        let di = Stats[2 * r + 1];
        for (var j = tid; j < S; j = j + ${WORKGROUP}) {
          var s = 0.0;
          var dp = 0.0;
          for (var d = 0; d < D; d++) {
            s = fma(rowVec[d], K[blockBase + j * D + d], s);
            dp = fma(rowVec2[d], V[blockBase + j * D + d], dp);
          }
          let pj = exp(s * uniforms.scale + Mask[b * S + j] - lse);
          ds[j] = pj * (dp - di);
        }
        workgroupBarrier();
        for (var d = tid; d < D; d = d + ${WORKGROUP}) {
          var acc = 0.0;
          for (var j = 0; j < S; j++) { acc = fma(ds[j], K[blockBase + j * D + d], acc); }
          if (valid) { result[r * D + d] = acc * uniforms.scale; }
        }`,
      dkv: `
        // This workgroup owns key row j = r - blockBase/D of its block.
        let j = r % S;
        for (var d = tid; d < D; d = d + ${WORKGROUP}) {
          rowVec[d] = K[r * D + d];
          rowVec2[d] = V[r * D + d];
        }
        workgroupBarrier();
        let maskJ = Mask[b * S + j];
        for (var i = tid; i < S; i = i + ${WORKGROUP}) {
          var s = 0.0;
          var dp = 0.0;
          let qi = blockBase + i * D;
          for (var d = 0; d < D; d++) {
            s = fma(Q[qi + d], rowVec[d], s);
            dp = fma(DO[qi + d], rowVec2[d], dp);
          }
          let statsI = 2 * (bh * S + i);
          let pij = exp(s * uniforms.scale + maskJ - Stats[statsI]);
          p[i] = pij;
          ds[i] = pij * (dp - Stats[statsI + 1]);
        }
        workgroupBarrier();
        for (var d = tid; d < D; d = d + ${WORKGROUP}) {
          var dk = 0.0;
          var dv = 0.0;
          for (var i = 0; i < S; i++) {
            dk = fma(ds[i], Q[blockBase + i * D + d], dk);
            dv = fma(p[i], DO[blockBase + i * D + d], dv);
          }
          if (valid) {
            result[r * 2 * D + d] = dk * uniforms.scale;
            result[r * 2 * D + D + d] = dv;
          }
        }`,
    };
    return `
      ${common}
      fn main() {
        ${prologue}
        ${bodies[this.mode]}
      }
    `;
  }
}

function checkDims(d: AttentionDims): void {
  if (d.seq > ATTENTION_MAX_SEQ || d.headDim > ATTENTION_MAX_HEAD)
    throw new RangeError(
      `fused attention supports seq <= ${ATTENTION_MAX_SEQ} and head size <= ${ATTENTION_MAX_HEAD}, got ${d.seq} and ${d.headDim}`,
    );
}

/** Dimensions from Q [B, H, S, D]. */
export function attentionDims(q: tf.Tensor4D, scale = 1 / Math.sqrt(q.shape[3])): AttentionDims {
  const [batch, heads, seq, headDim] = q.shape;
  return { batch, heads, seq, headDim, scale };
}

function uniformsOf(d: AttentionDims) {
  return [
    { type: 'int32' as const, data: [d.heads] },
    { type: 'int32' as const, data: [d.seq] },
    { type: 'int32' as const, data: [d.headDim] },
    { type: 'float32' as const, data: [d.scale] },
    { type: 'int32' as const, data: [d.batch * d.heads * d.seq] },
  ];
}

/** softmax(Q·Kᵀ·scale + mask)·V on WebGPU → [B, H, S, D]. */
export function fusedAttentionWebgpu(
  q: tf.Tensor4D,
  k: tf.Tensor4D,
  v: tf.Tensor4D,
  mask: tf.Tensor2D,
): tf.Tensor4D {
  const d = attentionDims(q);
  const out = runProgram(new FusedAttentionProgram(d, 'forward'), [q, k, v, mask], uniformsOf(d));
  return tf.reshape(out, q.shape);
}

/** Gradients of fusedAttentionWebgpu with respect to Q, K, V, given O and dO. */
export function fusedAttentionBackwardWebgpu(
  q: tf.Tensor4D,
  k: tf.Tensor4D,
  v: tf.Tensor4D,
  mask: tf.Tensor2D,
  o: tf.Tensor4D,
  dO: tf.Tensor4D,
): { dq: tf.Tensor4D; dk: tf.Tensor4D; dv: tf.Tensor4D } {
  const d = attentionDims(q);
  const u = uniformsOf(d);
  const stats = runProgram(new FusedAttentionProgram(d, 'stats'), [q, k, mask, dO, o], u);
  const dq = runProgram(new FusedAttentionProgram(d, 'dq'), [q, k, v, mask, dO, stats], u);
  const dkv = runProgram(new FusedAttentionProgram(d, 'dkv'), [q, k, v, mask, dO, stats], u);
  const [dk, dv] = tf.split(tf.reshape(dkv, [...q.shape.slice(0, 3), 2 * d.headDim]), 2, 3) as [
    tf.Tensor4D,
    tf.Tensor4D,
  ];
  const result = { dq: tf.reshape(dq, q.shape) as tf.Tensor4D, dk, dv };
  tf.dispose([stats, dkv]);
  return result;
}

/** CPU reference (float64) of the forward; arrays row-major [B, H, S, D], mask [B, S]. */
export function fusedAttentionReference(
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  mask: ArrayLike<number>,
  d: AttentionDims,
): Float64Array {
  return attentionCore(q, k, v, mask, d, undefined).o;
}

/** CPU reference (float64) of the backward. */
export function fusedAttentionBackwardReference(
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  mask: ArrayLike<number>,
  dO: ArrayLike<number>,
  d: AttentionDims,
): { dq: Float64Array; dk: Float64Array; dv: Float64Array } {
  const { dq, dk, dv } = attentionCore(q, k, v, mask, d, dO);
  return { dq: dq!, dk: dk!, dv: dv! };
}

function attentionCore(
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  mask: ArrayLike<number>,
  dims: AttentionDims,
  dO: ArrayLike<number> | undefined,
) {
  const { batch, heads, seq: S, headDim: D, scale } = dims;
  const o = new Float64Array(batch * heads * S * D);
  const dq = dO ? new Float64Array(o.length) : undefined;
  const dk = dO ? new Float64Array(o.length) : undefined;
  const dv = dO ? new Float64Array(o.length) : undefined;
  const p = new Float64Array(S);
  const dp = new Float64Array(S);
  for (let b = 0; b < batch; b++)
    for (let h = 0; h < heads; h++) {
      const base = (b * heads + h) * S * D;
      for (let i = 0; i < S; i++) {
        let max = -Infinity;
        for (let j = 0; j < S; j++) {
          let s = 0;
          for (let x = 0; x < D; x++) s += q[base + i * D + x] * k[base + j * D + x];
          p[j] = s * scale + mask[b * S + j];
          max = Math.max(max, p[j]);
        }
        let z = 0;
        for (let j = 0; j < S; j++) z += p[j] = Math.exp(p[j] - max);
        for (let j = 0; j < S; j++) p[j] /= z;
        for (let x = 0; x < D; x++) {
          let acc = 0;
          for (let j = 0; j < S; j++) acc += p[j] * v[base + j * D + x];
          o[base + i * D + x] = acc;
        }
        if (!dO) continue;
        // dP = dO·Vᵀ; dS = P ∘ (dP − rowsum(P ∘ dP)); dQ = dS·K·scale; dK += dSᵀ·Q·scale; dV += Pᵀ·dO.
        let rowDot = 0;
        for (let j = 0; j < S; j++) {
          let acc = 0;
          for (let x = 0; x < D; x++) acc += dO[base + i * D + x] * v[base + j * D + x];
          dp[j] = acc;
          rowDot += p[j] * acc;
        }
        for (let j = 0; j < S; j++) {
          const dsij = p[j] * (dp[j] - rowDot) * scale;
          for (let x = 0; x < D; x++) {
            dq![base + i * D + x] += dsij * k[base + j * D + x];
            dk![base + j * D + x] += dsij * q[base + i * D + x];
            dv![base + j * D + x] += p[j] * dO[base + i * D + x];
          }
        }
      }
    }
  return { o, dq, dk, dv };
}
