/**
 * What differs between the tfjs backends the trainer runs on, in one record per backend
 * (wasm.ts, tensorflow.ts, cpu.ts): where parameters, gradients and optimizer state live,
 * whether a batch is cut into length-grouped slices, whether linear layers keep cached weight
 * transposes, how tensors are read back, and what the start-up log says about precision and
 * out-of-memory failures. Code asks `currentBackendProfile()` instead of testing backend names.
 */
import * as tf from '@tensorflow/tfjs-core';
import { CPU_PROFILE } from './cpu.js';
import { TFJS_BACKENDS, type ConcreteBackend } from './names.js';
import type { FusedOps } from './tensorflow-fused-ops.js';
import { TENSORFLOW_PROFILE } from './tensorflow.js';
import { WASM_PROFILE } from './wasm.js';

export type { ConcreteBackend } from './names.js';

/**
 * A backend's constants for the split (memory/length-groups.ts): the fixed cost of a slice in
 * token-equivalents (op dispatch, weight-gradient products, accumulation), and how much slower
 * a FLOP of attention's batched matmuls runs than one of the dense layers.
 */
export interface SliceCostConstants {
  overheadTokens: number;
  attentionSlowdown: number;
}

/** A backend's traits. */
export interface BackendProfile {
  readonly name: ConcreteBackend;
  /**
   * True: parameters, gradients and AdamW moments stay in tensors, and a step reads back only
   * the loss, the predictions and what must cross processes. False: gradients and moments live
   * in host arrays (outside a bounded heap) and parameters are rewritten from the host.
   */
  readonly deviceResident: boolean;
  /**
   * Run a batch's rows sorted by length, in slices trimmed to their own longest sentence (a
   * CPU spends its time on padded positions; see memory/length-groups.ts), with this backend's
   * constants for the split's cost model; false: consecutive slices only where memory needs them.
   */
  readonly lengthGrouping: SliceCostConstants | false;
  /**
   * True: matmuls pass transposed operands to the backend as flags (and use tfjs's own matmul
   * gradient). False: operands are transposed explicitly, since tfjs-wasm's BatchMatMul falls
   * back to a naive loop on those flags (model/matmul.ts), and linear layers keep each weight's
   * transposes between optimizer steps (model/weight-transposes.ts).
   */
  readonly nativeTransposedMatmul: boolean;
  /** Uniform [0, 1) numbers of `shape` for dropout masks, seeded (default: tfjs's randomUniform). */
  readonly uniform?: (shape: readonly number[], seed: number) => tf.Tensor;
  /**
   * Fused LayerNorm / GELU / AdamW kernels when the backend has them loaded (tensorflow with
   * the install's tensorflow-fused-ops library); undefined: tfjs's composite ops.
   */
  readonly fusedOps?: () => FusedOps | undefined;
  /** `dataSync()` returns a fresh copy (wasm copies out of its heap) rather than the backend's storage. */
  readonly dataSyncCopies: boolean;
  /** What float32 math means here, for the `--mixed_precision` start-up line. */
  readonly precisionNote: string;
  /** Advice appended to an out-of-memory error. */
  readonly memoryHint: string;
}

// A Record over the names: a backend added to names.ts without a profile does not type-check.
const PROFILES: Readonly<Record<ConcreteBackend, BackendProfile>> = {
  wasm: WASM_PROFILE,
  tensorflow: TENSORFLOW_PROFILE,
  cpu: CPU_PROFILE,
};

/** The profile of `name`; throws for a backend the trainer does not run on. */
export function backendProfile(name: string): BackendProfile {
  if (!(TFJS_BACKENDS as readonly string[]).includes(name))
    throw new Error(
      `tfjs backend '${name}' has no ner-launch profile (known: ${TFJS_BACKENDS.join(', ')})`,
    );
  return PROFILES[name as ConcreteBackend];
}

/** The profile of the tfjs backend in use. */
export function currentBackendProfile(): BackendProfile {
  return backendProfile(tf.getBackend());
}
