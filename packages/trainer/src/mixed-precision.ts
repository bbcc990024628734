/**
 * `--mixed_precision fp16|bf16`: what it changes, per backend. On every backend the gradients
 * cross the all-reduce in the half format (half the bytes, as DDP's fp16/bf16 compression
 * hooks), and fp16 adds dynamic loss scaling (optim/loss-scaler.ts). Half-precision *math* is
 * used only where a backend offers it; tfjs has no float16 dtype, so today no backend does,
 * and the start-up message says exactly that.
 */
import * as tf from '@tensorflow/tfjs-core';
import { roundToHalf } from '@ner-launch/common';
import type { MixedPrecision, WireDType } from '@ner-launch/worker';

import { backendProfile, type ConcreteBackend } from './backends/profile.js';
import { LossScaler } from './optim/loss-scaler.js';

/** What a run does for its `--mixed_precision` on its backend. */
export interface MixedPrecisionPlan {
  mode: MixedPrecision;
  /** Wire format of the gradient all-reduce (Accelerator's `gradientWire`). */
  gradientWire: WireDType;
  /** fp16 only: dynamic loss scaling with step skipping. */
  lossScaling: boolean;
  /** Whether matmuls run in half precision on this backend (never, today; see message). */
  halfMatmul: boolean;
  /** One line for the start-up log. */
  message: string;
}

/** Decides what `mode` does on `backend` and the start-up line that says so. */
export function planMixedPrecision(
  mode: MixedPrecision,
  backend: ConcreteBackend,
): MixedPrecisionPlan {
  if (mode === 'no')
    return {
      mode,
      gradientWire: 'fp32',
      lossScaling: false,
      halfMatmul: false,
      message: 'mixed precision off: float32 math and float32 gradient all-reduce',
    };
  const wire =
    mode === 'fp16'
      ? 'gradients are all-reduced as fp16 (half the bytes) with dynamic loss scaling (init 2^16, x2 every 2000 good steps, x0.5 and the step skipped on inf/NaN)'
      : 'gradients are all-reduced as bf16 (half the bytes), no loss scaling';
  return {
    mode,
    gradientWire: mode,
    lossScaling: mode === 'fp16',
    halfMatmul: false,
    message: `mixed precision ${mode}: ${wire}; ${backendProfile(backend).precisionNote}`,
  };
}

/** The loss scaler for the plan (disabled, scale 1, for fp32 and bf16). */
export function createLossScaler(plan: MixedPrecisionPlan): LossScaler {
  return new LossScaler({ enabled: plan.lossScaling });
}

/** `loss * scale` inside the function being differentiated (for half-precision math; finishGradients scales float32 gradients itself). */
export function scaleLoss(loss: tf.Scalar, scaler: LossScaler): tf.Scalar {
  if (scaler.scale === 1) return loss;
  return tf.mul(loss, tf.scalar(scaler.scale));
}

/** Result of `finishGradients`. */
export interface GradientStepDecision {
  /** True: inf/NaN found (fp16), do not apply the optimizer step. */
  skip: boolean;
  /** Loss scale the step's gradients were computed with. */
  scale: number;
}

/**
 * After backprop: multiplies the (fp32) gradients by the loss scale, all-reduces them with the
 * plan's wire format (through `reduce`, e.g. `accelerator.reduceGradients` of an Accelerator
 * created with `gradientWire: plan.gradientWire`), divides by the scale again and decides
 * whether to skip the step. Every backend here computes in float32, where scaling the
 * gradients equals scaling the loss (GradScaler's `scale(loss)`), so the model needs no change;
 * the scale keeps small gradients above fp16's underflow on the wire, and fp16 overflow on the
 * wire (inf) triggers the skip. Alone (world size 1) the gradients are rounded to the half
 * format once, so a run's numerics do not depend on how many workers it has.
 */
export async function finishGradients(
  grads: Map<string, Float32Array>,
  plan: MixedPrecisionPlan,
  scaler: LossScaler,
  reduce: (g: Map<string, Float32Array>) => Promise<Map<string, Float32Array>>,
  worldSize: number,
  step?: number,
  /** The engine multiplied the loss by the scale before its (half-precision) backward pass. */
  scaledInBackward = false,
): Promise<GradientStepDecision> {
  const scale = scaler.scale;
  if (scale !== 1 && !scaledInBackward)
    for (const g of grads.values()) for (let i = 0; i < g.length; i++) g[i] *= scale;
  if (plan.gradientWire !== 'fp32' && worldSize === 1)
    for (const g of grads.values()) roundToHalf(g, plan.gradientWire);
  const reduced = await reduce(grads);
  const { foundInf } = scaler.unscale(reduced.values());
  const skip = plan.lossScaling ? scaler.update(foundInf, step) : false;
  return { skip, scale };
}
