/**
 * torch.optim.AdamW (decoupled weight decay, bias correction, eps outside the square root) as
 * tensor ops, for backends whose tensors live outside a bounded heap (tensorflow): parameters,
 * gradients and both moments stay on the device and nothing is read back per step. The same
 * arithmetic as the host `adamwUpdate` (optim/adamw.ts), op for op in float32, as tensor ops or
 * as the backend's fused kernel (NerAdamW in tensorflow-fused-ops.cc: the same order, one pass).
 */
import * as tf from '@tensorflow/tfjs-core';
import { currentBackendProfile } from '../backends/profile.js';
import type { ParameterStore } from '../model/parameter-store.js';
import { adamwSettings, type AdamWGroup, type AdamWOptions, type AdamWState } from './adamw.js';

interface DeviceState {
  step: number;
  expAvg: tf.Tensor;
  expAvgSq: tf.Tensor;
}

/** AdamW over tensors: `step` replaces each parameter's tensor by its updated one. */
export class DeviceAdamW {
  readonly groups: AdamWGroup[];
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  private readonly state = new Map<string, DeviceState>();

  constructor(groups: AdamWGroup[], options: AdamWOptions = {}) {
    ({
      groups: this.groups,
      beta1: this.beta1,
      beta2: this.beta2,
      eps: this.eps,
    } = adamwSettings(groups, options));
  }

  /** One step with `gradients` (already reduced and clipped); parameters without one are left alone. */
  step(gradients: ReadonlyMap<string, tf.Tensor>, params: ParameterStore): void {
    const f = Math.fround;
    // One pass per parameter where the backend has the fused kernel, else 14 tensor ops.
    const fused = currentBackendProfile().fusedOps?.();
    for (const group of this.groups) {
      for (const name of group.params) {
        const grad = gradients.get(name);
        if (!grad) continue;
        const param = params.get(name);
        if (grad.size !== param.size)
          throw new Error(
            `AdamW: gradient for ${name} has ${grad.size} elements, the parameter ${param.size}`,
          );
        const previous = this.state.get(name);
        const step = (previous?.step ?? 0) + 1;
        const stepSize = group.lr / (1 - this.beta1 ** step);
        const correction2Sqrt = Math.sqrt(1 - this.beta2 ** step);
        const next = tf.tidy(() => {
          const m0 = previous?.expAvg ?? tf.zerosLike(param);
          const v0 = previous?.expAvgSq ?? tf.zerosLike(param);
          if (fused) {
            const constants = [
              1 - group.lr * group.weightDecay,
              1 - this.beta1,
              this.beta2,
              1 - this.beta2,
              correction2Sqrt,
              this.eps,
              -stepSize,
            ].map(f);
            const { param: updated, m, v } = fused.adamw(param, grad, m0, v0, constants);
            return { updated, m, v };
          }
          const g = tf.reshape(grad, param.shape);
          const decayed = tf.mul(param, tf.scalar(f(1 - group.lr * group.weightDecay)));
          const m = tf.add(m0, tf.mul(tf.scalar(f(1 - this.beta1)), tf.sub(g, m0)));
          const v = tf.add(
            tf.mul(v0, tf.scalar(f(this.beta2))),
            tf.mul(tf.scalar(f(1 - this.beta2)), tf.mul(g, g)),
          );
          const denom = tf.add(tf.div(tf.sqrt(v), tf.scalar(f(correction2Sqrt))), f(this.eps));
          const updated = tf.add(decayed, tf.mul(tf.scalar(f(-stepSize)), tf.div(m, denom)));
          return { updated, m, v };
        });
        params.replace(name, next.updated);
        previous?.expAvg.dispose();
        previous?.expAvgSq.dispose();
        this.state.set(name, { step, expAvg: tf.keep(next.m), expAvgSq: tf.keep(next.v) });
      }
    }
  }

  /** A host copy of one parameter's state, if it has been stepped (checkpoints). */
  stateOf(name: string): AdamWState | undefined {
    const state = this.state.get(name);
    if (!state) return undefined;
    return {
      step: state.step,
      expAvg: state.expAvg.dataSync() as Float32Array,
      expAvgSq: state.expAvgSq.dataSync() as Float32Array,
    };
  }

  /** Restores a saved state (resume); `shape` is the parameter's. */
  setState(name: string, state: AdamWState, shape: readonly number[]): void {
    const previous = this.state.get(name);
    previous?.expAvg.dispose();
    previous?.expAvgSq.dispose();
    this.state.set(name, {
      step: state.step,
      expAvg: tf.keep(tf.tensor(state.expAvg, [...shape], 'float32')),
      expAvgSq: tf.keep(tf.tensor(state.expAvgSq, [...shape], 'float32')),
    });
  }

  /** Frees the moments. */
  dispose(): void {
    for (const state of this.state.values()) {
      state.expAvg.dispose();
      state.expAvgSq.dispose();
    }
    this.state.clear();
  }
}

/**
 * torch.nn.utils.clip_grad_norm_ over device gradients (L2; the norm of the per-tensor norms,
 * each in float32): scales them in place in the map when the total exceeds `maxNorm`; returns the
 * total norm before clipping. One scalar is read back, for the decision.
 */
export function clipDeviceGradNorm(gradients: Map<string, tf.Tensor>, maxNorm: number): number {
  const names = [...gradients.keys()];
  if (names.length === 0) return 0;
  // sqrt(sum(g^2)) rather than tf.norm, which is abs + pow + sum: pow is a slow general kernel
  // (~1 s per bert-base step on two cores, measured) and abs is a wasted pass before squaring.
  const totalTensor = tf.tidy(() => {
    const squaredNorms = names.map((name) =>
      tf.square(tf.sqrt(tf.sum(tf.square(gradients.get(name)!)))),
    );
    return tf.sqrt(tf.sum(tf.stack(squaredNorms)));
  });
  const total = totalTensor.dataSync()[0]!;
  totalTensor.dispose();
  const coefficient = Math.fround(Math.min(1, maxNorm / (Math.fround(total) + 1e-6)));
  if (coefficient !== 1)
    for (const name of names) {
      const grad = gradients.get(name)!;
      gradients.set(name, tf.keep(tf.mul(grad, tf.scalar(coefficient))));
      grad.dispose();
    }
  return total;
}
