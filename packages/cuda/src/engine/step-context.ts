/**
 * What the layer launchers share during one forward/backward: kernels, cuBLASLt, the flat
 * parameter/gradient buffers with their layout, this batch's activation buffers, dropout state.
 */
import type { MatrixType } from '../libraries/cublaslt.js';
import type { DevicePtr } from '../libraries/driver.js';
import type { ActivationPlan, LayerBuffer, SharedBuffer } from './activation-plan.js';
import type { KernelLauncher, Matmul } from './device-api.js';
import type { CudaBertDims } from './dims.js';
import type { ParameterLayout } from './layout.js';

/** Dropout-site ids (the Philox key's second word): per layer, plus embeddings and classifier. */
export const DROPOUT_SITE = {
  attentionProbs: (layer: number) => layer * 4,
  attentionOutput: (layer: number) => layer * 4 + 1,
  ffnOutput: (layer: number) => layer * 4 + 2,
  embeddings: 0xffff0000,
  classifier: 0xffff0001,
} as const;

/** The shared state of one step. */
export interface StepContext {
  kernels: KernelLauncher;
  blas: Matmul;
  dims: CudaBertDims;
  layout: ParameterLayout;
  /** Element type of activations and of `paramsX`. */
  xType: MatrixType;
  xBytes: number;
  /** fp32 master weights. */
  params: DevicePtr;
  /** floatX weights the matmuls read (== params in fp32). */
  paramsX: DevicePtr;
  /** fp32 gradients, accumulated. */
  grads: DevicePtr;
  activations: DevicePtr;
  plan: ActivationPlan;
  training: boolean;
  seed: number;
  counter: bigint;
}

/** Device address of parameter `name` in the fp32 master buffer. */
export function param32(ctx: StepContext, name: string): DevicePtr {
  return ctx.params + BigInt(ctx.layout.slot(name).offset * 4);
}

/** Device address of parameter `name` in the floatX buffer. */
export function paramX(ctx: StepContext, name: string): DevicePtr {
  return ctx.paramsX + BigInt(ctx.layout.slot(name).offset * ctx.xBytes);
}

/** Device address of the gradient of `name`. */
export function grad(ctx: StepContext, name: string): DevicePtr {
  return ctx.grads + BigInt(ctx.layout.slot(name).offset * 4);
}

/** A shared activation buffer. */
export function shared(ctx: StepContext, name: SharedBuffer): DevicePtr {
  return ctx.activations + BigInt(ctx.plan.shared[name]);
}

/** A buffer layer `layer` keeps for its backward. */
export function kept(ctx: StepContext, layer: number, name: LayerBuffer): DevicePtr {
  return ctx.activations + BigInt(ctx.plan.layers[layer]![name]);
}

/** hidden[i]: the embeddings output (0) or encoder layer i-1's output. */
export function hidden(ctx: StepContext, index: number): DevicePtr {
  return ctx.activations + BigInt(ctx.plan.hidden[index]!);
}

/** `ptr` advanced by `elements` floatX elements. */
export function offsetX(ctx: StepContext, ptr: DevicePtr, elements: number): DevicePtr {
  return ptr + BigInt(elements * ctx.xBytes);
}

/** The dropout rate to use now (0 in eval mode). */
export function rate(ctx: StepContext, p: number): number {
  return ctx.training ? p : 0;
}
