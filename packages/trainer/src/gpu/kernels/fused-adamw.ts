/**
 * Fused AdamW over one flat buffer: parameters, first and second moments packed as one
 * [3·n] state tensor (params | m | v), one thread per element, one pass over memory instead of
 * the ~12 elementwise kernels tfjs would run. Parameters with weight decay come first in the
 * flat order (`decayEnd`); the rest (biases, LayerNorm) get none, as BERT's two param groups.
 * The math is torch's `_single_tensor_adamw` (optim/adamw.ts).
 */
import type * as tf from '@tensorflow/tfjs-core';

import { dispatchFor, runProgram, type WebgpuProgram } from './webgpu-program.js';

/** One AdamW step's scalars. */
export interface FusedAdamWStep {
  lr: number;
  weightDecay: number;
  beta1: number;
  beta2: number;
  eps: number;
  /** 1-based step number (bias correction). */
  step: number;
  /** Elements [0, decayEnd) get weight decay, [decayEnd, n) none. */
  decayEnd: number;
}

const WORKGROUP = 256;

/** The WGSL program: state [3n] (p | m | v) and grad [n] → new state [3n]. */
export class FusedAdamWProgram implements WebgpuProgram {
  variableNames = ['State', 'Grad'];
  outputShape: number[];
  shaderKey = 'ner_fused_adamw';
  dispatchLayout = { x: [0] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [WORKGROUP, 1, 1];
  uniforms =
    'n : i32, decayEnd : i32, decay : f32, beta1 : f32, beta2 : f32, negStepSize : f32, sqrtCorrection2 : f32, eps : f32,';

  constructor(readonly n: number) {
    this.outputShape = [3 * n];
    this.dispatch = dispatchFor(Math.ceil(n / WORKGROUP));
  }

  getUserCode(): string {
    return `
      fn main(index : i32) {
        let n = uniforms.n;
        if (index >= n) { return; }
        let g = Grad[index];
        var p = State[index];
        if (index < uniforms.decayEnd) { p = p * uniforms.decay; }
        let m = State[n + index] + (1.0 - uniforms.beta1) * (g - State[n + index]);
        let v = State[2 * n + index] * uniforms.beta2 + (1.0 - uniforms.beta2) * (g * g);
        let denom = sqrt(v) / uniforms.sqrtCorrection2 + uniforms.eps;
        result[index] = p + uniforms.negStepSize * (m / denom);
        result[n + index] = m;
        result[2 * n + index] = v;
      }
    `;
  }
}

function scalars(s: FusedAdamWStep): {
  decay: number;
  negStepSize: number;
  sqrtCorrection2: number;
} {
  if (!Number.isInteger(s.step) || s.step < 1)
    throw new RangeError(`fused AdamW: step must be >= 1, got ${s.step}`);
  return {
    decay: 1 - s.lr * s.weightDecay,
    negStepSize: -s.lr / (1 - s.beta1 ** s.step),
    sqrtCorrection2: Math.sqrt(1 - s.beta2 ** s.step),
  };
}

/** Runs the fused step on WebGPU; returns the new [3n] state (the caller disposes the old). */
export function fusedAdamWWebgpu(
  state: tf.Tensor1D,
  grad: tf.Tensor1D,
  s: FusedAdamWStep,
): tf.Tensor1D {
  const n = grad.size;
  if (state.size !== 3 * n)
    throw new RangeError(`fused AdamW: state has ${state.size} elements, expected 3 × ${n}`);
  const c = scalars(s);
  return runProgram(
    new FusedAdamWProgram(n),
    [state, grad],
    [
      { type: 'int32', data: [n] },
      { type: 'int32', data: [s.decayEnd] },
      { type: 'float32', data: [c.decay] },
      { type: 'float32', data: [s.beta1] },
      { type: 'float32', data: [s.beta2] },
      { type: 'float32', data: [c.negStepSize] },
      { type: 'float32', data: [c.sqrtCorrection2] },
      { type: 'float32', data: [s.eps] },
    ],
  ) as tf.Tensor1D;
}

/** CPU reference in float64: same packing, same formula. */
export function fusedAdamWReference(
  state: Float64Array,
  grad: Float64Array,
  s: FusedAdamWStep,
): Float64Array {
  const n = grad.length;
  if (state.length !== 3 * n)
    throw new RangeError(`fused AdamW: state has ${state.length} elements, expected 3 × ${n}`);
  const c = scalars(s);
  const out = new Float64Array(3 * n);
  for (let i = 0; i < n; i++) {
    const g = grad[i];
    const p = i < s.decayEnd ? state[i] * c.decay : state[i];
    const m = state[n + i] + (1 - s.beta1) * (g - state[n + i]);
    const v = state[2 * n + i] * s.beta2 + (1 - s.beta2) * g * g;
    out[i] = p + c.negStepSize * (m / (Math.sqrt(v) / c.sqrtCorrection2 + s.eps));
    out[n + i] = m;
    out[2 * n + i] = v;
  }
  return out;
}
