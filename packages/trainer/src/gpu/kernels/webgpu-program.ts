/**
 * The small surface of tfjs's WebGPU backend our kernels use: a program object in the shape
 * `WebGPUBackend.runWebGPUProgram` takes (see @tensorflow/tfjs-backend-webgpu's
 * webgpu_program.d.ts), typed structurally so CPU-only code never imports the WebGPU backend.
 * tfjs prepends the header (bindings: `result` at 0, inputs by `variableNames` at 1..n,
 * `uniforms` last, with shapes, strides, `size` and the program's own fields).
 */
import * as tf from '@tensorflow/tfjs-core';

/** A program as tfjs's WebGPU backend compiles it. */
export interface WebgpuProgram {
  variableNames: string[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[]; y?: number[]; z?: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number];
  /** True: tfjs adds `uniforms.size` (output element count). */
  size?: boolean;
  /** Extra uniform fields, WGSL struct-member syntax, e.g. `lr : f32, n : i32,`. */
  uniforms?: string;
  getUserCode(): string;
}

/** A uniform value passed after tfjs's own (in the order of `uniforms`). */
export interface ProgramUniform {
  type: 'float32' | 'int32' | 'uint32';
  data: number[];
}

/** `WebGPUBackend` as far as we use it. */
export interface WebgpuBackendLike {
  runWebGPUProgram(
    program: WebgpuProgram,
    inputs: tf.TensorInfo[],
    outputDtype: tf.DataType,
    uniforms?: ProgramUniform[],
  ): tf.TensorInfo;
}

/** WebGPU's per-dimension cap on workgroup counts. */
export const MAX_WORKGROUPS_PER_DIM = 65535;

/**
 * Dispatch for `workgroups` workgroups: 1-D while it fits, else x·y (tfjs's
 * `getGlobalIndex()` then folds workgroup ids back into one index; excess threads must
 * check bounds).
 */
export function dispatchFor(workgroups: number): [number, number, number] {
  if (workgroups <= MAX_WORKGROUPS_PER_DIM) return [Math.max(1, workgroups), 1, 1];
  const y = Math.ceil(workgroups / MAX_WORKGROUPS_PER_DIM);
  return [Math.ceil(workgroups / y), y, 1];
}

/** The active backend as a WebGPU backend; throws when tfjs runs on another backend. */
export function webgpuBackend(): WebgpuBackendLike {
  const name = tf.getBackend();
  if (name !== 'webgpu')
    throw new Error(
      `fused WebGPU kernel called while tfjs runs on '${name}' (needs --backend webgpu)`,
    );
  return tf.backend() as unknown as WebgpuBackendLike;
}

/** Runs `program` on the active WebGPU backend and wraps the result as a tensor. */
export function runProgram(
  program: WebgpuProgram,
  inputs: tf.Tensor[],
  uniforms?: ProgramUniform[],
): tf.Tensor {
  const info = webgpuBackend().runWebGPUProgram(program, inputs, 'float32', uniforms);
  return tf.engine().makeTensorFromTensorInfo(info);
}
