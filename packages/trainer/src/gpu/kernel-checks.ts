/**
 * One check per fused WebGPU kernel: deterministic inputs, the kernel on the active WebGPU
 * backend, its float64 CPU reference, the normwise relative error and the achieved rate.
 * The GPU check script (tools/gpu/) runs them on a GPU; the CPU test suite runs them on
 * Dawn's null backend, where nothing executes but every WGSL program must still compile.
 */
import * as tf from '@tensorflow/tfjs-core';

import {
  biasGeluBackwardReference,
  biasGeluBackwardWebgpu,
  biasGeluReference,
  biasGeluWebgpu,
} from './kernels/bias-gelu.js';
import { fusedAdamWReference, fusedAdamWWebgpu } from './kernels/fused-adamw.js';
import {
  fusedAttentionBackwardReference,
  fusedAttentionBackwardWebgpu,
  fusedAttentionReference,
  fusedAttentionWebgpu,
} from './kernels/fused-attention.js';
import { randomArray, relativeError } from './kernels/kernel-compare.js';
import {
  residualLayerNormBackwardReference,
  residualLayerNormBackwardWebgpu,
  residualLayerNormReference,
  residualLayerNormWebgpu,
} from './kernels/residual-layer-norm.js';
import { matmulShape, tiledMatmulReference, tiledMatmulWebgpu } from './kernels/tiled-matmul.js';

/** Outcome of one kernel check. */
export interface KernelCheckResult {
  kernel: string;
  shape: string;
  /** Normwise relative error against the float64 reference (per output). */
  errors: Record<string, number>;
  /** Mean milliseconds per call over the timed repetitions (0 when not timed). */
  ms: number;
  /** Achieved TFLOP/s (compute-bound kernels) or GB/s (memory-bound), by `unit`. */
  rate: number;
  unit: 'TFLOP/s' | 'GB/s';
  /** WebGPU validation error (WGSL compile, bindings) raised while running it, if any. */
  validationError?: string;
  /** Any other failure (device lost, out of memory, a failed read-back). */
  error?: string;
}

/** The part of GPUDevice used to catch validation errors per kernel. */
export interface ErrorScopeDevice {
  pushErrorScope(filter: 'validation'): void;
  popErrorScope(): Promise<{ message: string } | null>;
}

/** Sizes: `small` for the reference comparison (CPU float64 must finish fast), `bench` for timing. */
export type CheckSize = 'small' | 'bench';

interface KernelCase {
  kernel: string;
  shape: string;
  unit: 'TFLOP/s' | 'GB/s';
  /** FLOPs or bytes of one call. */
  work: number;
  /** Runs the kernel once, returning its outputs (caller disposes). */
  run: () => tf.Tensor[];
  /** The float64 references, same order as `run`'s outputs (absent: time only). */
  reference?: () => ArrayLike<number>[];
  outputs: string[];
}

function cases(size: CheckSize): KernelCase[] {
  const small = size === 'small';
  const out: KernelCase[] = [];
  {
    const n = small ? 10_000 : 1 << 25; // 32 Mi parameters: 1.5 GB moved per call
    const state = randomArray(3 * n, 1, 0.1).map((v, i) => (i >= 2 * n ? Math.abs(v) : v));
    const grad = randomArray(n, 2, 0.01);
    const s = {
      lr: 5e-5,
      weightDecay: 0.01,
      beta1: 0.9,
      beta2: 0.999,
      eps: 1e-8,
      step: 3,
      decayEnd: Math.floor(n / 2),
    };
    const st = tf.tensor1d(state);
    const gt = tf.tensor1d(grad);
    out.push({
      kernel: 'fused-adamw',
      shape: `n=${n}`,
      unit: 'GB/s',
      work: n * 4 * 7, // read p, m, v, g; write p, m, v
      run: () => [fusedAdamWWebgpu(st, gt, s)],
      reference: small
        ? () => [fusedAdamWReference(Float64Array.from(state), Float64Array.from(grad), s)]
        : undefined,
      outputs: ['state'],
    });
  }
  {
    const [rows, cols] = small ? [64, 300] : [16 * 512, 3072];
    const x = randomArray(rows * cols, 3, 3);
    const b = randomArray(cols, 4);
    const dy = randomArray(rows * cols, 5);
    const [xt, bt, dyt] = [
      tf.tensor2d(x, [rows, cols]),
      tf.tensor1d(b),
      tf.tensor2d(dy, [rows, cols]),
    ];
    out.push({
      kernel: 'bias-gelu',
      shape: `${rows}x${cols}`,
      unit: 'GB/s',
      work: rows * cols * 4 * 2 + rows * cols * 4 * 3,
      run: () => [biasGeluWebgpu(xt, bt), biasGeluBackwardWebgpu(xt, bt, dyt)],
      reference: small
        ? () => [biasGeluReference(x, b), biasGeluBackwardReference(x, b, dy)]
        : undefined,
      outputs: ['y', 'dx'],
    });
  }
  {
    const [rows, cols] = small ? [40, 300] : [16 * 512, 768];
    const eps = 1e-12;
    const x = randomArray(rows * cols, 6, 2);
    const r = randomArray(rows * cols, 7);
    const g = randomArray(cols, 8).map((v) => 1 + 0.3 * v);
    const be = randomArray(cols, 9, 0.1);
    const dy = randomArray(rows * cols, 10);
    const t = [
      tf.tensor2d(x, [rows, cols]),
      tf.tensor2d(r, [rows, cols]),
      tf.tensor1d(g),
      tf.tensor1d(be),
      tf.tensor2d(dy, [rows, cols]),
    ] as const;
    out.push({
      kernel: 'residual-layer-norm',
      shape: `${rows}x${cols}`,
      unit: 'GB/s',
      work: rows * cols * 4 * 3 + rows * cols * 4 * 4 * 2,
      run: () => {
        const y = residualLayerNormWebgpu(
          t[0],
          t[1],
          t[2] as tf.Tensor1D,
          t[3] as tf.Tensor1D,
          eps,
        );
        const bw = residualLayerNormBackwardWebgpu(t[0], t[1], t[2] as tf.Tensor1D, t[4], eps);
        return [y, bw.dh, bw.dGamma, bw.dBeta];
      },
      reference: small
        ? () => {
            const bw = residualLayerNormBackwardReference(x, r, g, dy, eps);
            return [residualLayerNormReference(x, r, g, be, eps), bw.dh, bw.dGamma, bw.dBeta];
          }
        : undefined,
      outputs: ['y', 'dh', 'dGamma', 'dBeta'],
    });
  }
  for (const [ta, tb, shapeBench] of [
    [false, false, [1, 16 * 128, 3072, 768]],
    [false, true, [1, 16 * 128, 768, 3072]],
    [true, false, [1, 768, 3072, 16 * 128]],
    [false, false, [1, 4096, 4096, 4096]],
  ] as const) {
    const [batch, m, n, k] = small ? [2, 70, 45, 33] : shapeBench;
    const aShape = ta ? [batch, k, m] : [batch, m, k];
    const bShape = tb ? [batch, n, k] : [batch, k, n];
    const a = randomArray(batch * m * k, 11);
    const b = randomArray(batch * n * k, 12);
    const at = tf.tensor3d(a, aShape as [number, number, number]);
    const btt = tf.tensor3d(b, bShape as [number, number, number]);
    const s = matmulShape(aShape, bShape, ta, tb);
    out.push({
      kernel: `tiled-matmul${ta ? '-tA' : ''}${tb ? '-tB' : ''}${!small && m === 4096 ? '-4096' : ''}`,
      shape: `${batch}x${m}x${n}x${k}`,
      unit: 'TFLOP/s',
      work: 2 * batch * m * n * k,
      run: () => [tiledMatmulWebgpu(at, btt, ta, tb)],
      reference: small ? () => [tiledMatmulReference(a, b, s)] : undefined,
      outputs: ['c'],
    });
  }
  {
    const d = small
      ? { batch: 2, heads: 2, seq: 70, headDim: 16, scale: 0.25 }
      : { batch: 16, heads: 12, seq: 512, headDim: 64, scale: 0.125 };
    const shape = [d.batch, d.heads, d.seq, d.headDim] as [number, number, number, number];
    const n = shape.reduce((x, y) => x * y, 1);
    const [q, k, v, dO] = [13, 14, 15, 16].map((seed) => randomArray(n, seed));
    const mask = new Float32Array(d.batch * d.seq).map((_, i) =>
      i % d.seq >= d.seq - 5 * (Math.floor(i / d.seq) + 1) ? -10000 : 0,
    );
    const [qt, kt, vt, dOt] = [q, k, v, dO].map((a) => tf.tensor4d(a, shape));
    const mt = tf.tensor2d(mask, [d.batch, d.seq]);
    out.push({
      kernel: 'fused-attention',
      shape: `${d.batch}x${d.heads}x${d.seq}x${d.headDim}`,
      unit: 'TFLOP/s',
      work: 2 * 2 * d.batch * d.heads * d.seq * d.seq * d.headDim * 3.5, // fwd 2 matmuls, bwd ~5
      run: () => {
        const o = fusedAttentionWebgpu(qt, kt, vt, mt);
        const g = fusedAttentionBackwardWebgpu(qt, kt, vt, mt, o, dOt);
        return [o, g.dq, g.dk, g.dv];
      },
      reference: small
        ? () => {
            const o = fusedAttentionReference(q, k, v, mask, d);
            const g = fusedAttentionBackwardReference(q, k, v, mask, dO, d);
            return [o, g.dq, g.dk, g.dv];
          }
        : undefined,
      outputs: ['o', 'dq', 'dk', 'dv'],
    });
  }
  return out;
}

async function runCase(
  c: KernelCase,
  size: CheckSize,
  repeats: number,
  device?: ErrorScopeDevice,
): Promise<KernelCheckResult> {
  device?.pushErrorScope('validation');
  const outs = c.run();
  const data = await Promise.all(outs.map((t) => t.data()));
  tf.dispose(outs);
  const validation = device ? await device.popErrorScope() : null;
  const errors: Record<string, number> = {};
  if (c.reference) {
    const refs = c.reference();
    refs.forEach((ref, i) => {
      errors[c.outputs[i]] = relativeError(data[i] as Float32Array, ref);
    });
  }
  let ms = 0;
  if (size === 'bench') {
    const t0 = performance.now();
    for (let i = 0; i < repeats; i++) tf.dispose(c.run());
    // Reading one value waits for the queue to drain.
    const last = c.run();
    await last[0].data();
    tf.dispose(last);
    ms = (performance.now() - t0) / (repeats + 1);
  }
  const result: KernelCheckResult = {
    kernel: c.kernel,
    shape: c.shape,
    errors,
    ms,
    rate: ms > 0 ? c.work / (ms / 1000) / (c.unit === 'TFLOP/s' ? 1e12 : 1e9) : 0,
    unit: c.unit,
    ...(validation ? { validationError: validation.message } : {}),
  };
  return result;
}

/**
 * Runs every kernel check (`size` small: compared against float64; bench: timed over
 * `repeats` calls after a warm-up). `onResult` sees each result as it comes.
 */
export async function runKernelChecks(
  size: CheckSize,
  options: {
    repeats?: number;
    device?: ErrorScopeDevice;
    onResult?: (r: KernelCheckResult) => void;
  } = {},
): Promise<KernelCheckResult[]> {
  const { repeats = 10, device, onResult } = options;
  const results: KernelCheckResult[] = [];
  for (const c of cases(size)) {
    try {
      const result = await runCase(c, size, repeats, device);
      onResult?.(result);
      results.push(result);
    } catch (error) {
      const result: KernelCheckResult = {
        kernel: c.kernel,
        shape: c.shape,
        errors: {},
        ms: 0,
        rate: 0,
        unit: c.unit,
        error: String(error),
      };
      onResult?.(result);
      results.push(result);
    }
  }
  return results;
}
