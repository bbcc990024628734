/**
 * The optimizer side over the flat fp32 buffers: global-norm clipping and fp16 unscaling
 * (global_norm.cu), and fused AdamW per contiguous param-group run (adamw.cu), with torch's
 * bias-correction scalars computed on the host in float64.
 */
import type { DevicePtr } from '../libraries/driver.js';
import type { DeviceMemory, KernelLauncher } from './device-api.js';
import type { GroupRun } from './layout.js';

const NORM_BLOCKS = 512;
const NORM_THREADS = 256;

/** Buffers and launch helpers the optimizer works on. */
export interface OptimizerBuffers {
  driver: DeviceMemory;
  kernels: KernelLauncher;
  stream: unknown;
  params: DevicePtr;
  /** floatX copy to refresh (null in fp32). */
  paramsX: DevicePtr | null;
  grads: DevicePtr;
  expAvg: DevicePtr;
  expAvgSq: DevicePtr;
  /** NORM_BLOCKS floats of scratch, then one int flag. */
  scratch: DevicePtr;
  totalSize: number;
  xBytes: number;
}

/** Scratch bytes the optimizer needs. */
export const OPTIMIZER_SCRATCH_BYTES = NORM_BLOCKS * 4 + 256;

/** L2 norm of all gradients (block partial sums added in float64 on the host). */
export function gradientNorm(b: OptimizerBuffers): number {
  b.kernels.launch('global_norm_squares', NORM_BLOCKS, NORM_THREADS, [
    b.scratch,
    b.grads,
    b.totalSize,
  ]);
  const partial = new Float32Array(NORM_BLOCKS);
  b.driver.synchronize(b.stream);
  b.driver.download(partial, b.scratch);
  let sum = 0;
  for (const value of partial) sum += value;
  return Math.sqrt(sum);
}

/** grads *= factor; false when any element is inf or nan afterwards. */
export function scaleGradients(b: OptimizerBuffers, factor: number): boolean {
  const flag = b.scratch + BigInt(NORM_BLOCKS * 4);
  b.driver.fill32(flag, 0, 1);
  b.kernels.elementwise('scale_and_check', b.totalSize, [b.grads, b.totalSize, factor, flag]);
  const out = new Int32Array(1);
  b.driver.synchronize(b.stream);
  b.driver.download(out, flag);
  return out[0] === 0;
}

/** torch.nn.utils.clip_grad_norm_: scales by min(1, maxNorm / (norm + 1e-6)); returns the norm. */
export function clipGradients(b: OptimizerBuffers, maxNorm: number): number {
  const norm = gradientNorm(b);
  const coefficient = Math.min(1, maxNorm / (norm + 1e-6));
  if (coefficient < 1) scaleGradients(b, coefficient);
  return norm;
}

/** AdamW hyper-parameters of one step. */
export interface AdamWStep {
  step: number;
  lrs: readonly number[];
  weightDecays: readonly number[];
  betas: readonly [number, number];
  eps: number;
}

/** One AdamW update of every run (step counts from 1). */
export function adamwUpdate(b: OptimizerBuffers, runs: readonly GroupRun[], s: AdamWStep): void {
  const [beta1, beta2] = s.betas;
  const correction2Sqrt = Math.sqrt(1 - beta2 ** s.step);
  for (const run of runs) {
    const lr = s.lrs[run.group]!;
    const stepSize = lr / (1 - beta1 ** s.step);
    const at = (base: DevicePtr, bytes: number) => base + BigInt(run.offset * bytes);
    b.kernels.elementwise('adamw_update', run.size, [
      at(b.params, 4),
      b.paramsX === null ? 0n : at(b.paramsX, b.xBytes),
      at(b.grads, 4),
      at(b.expAvg, 4),
      at(b.expAvgSq, 4),
      run.size,
      lr,
      s.weightDecays[run.group]!,
      beta1,
      beta2,
      s.eps,
      stepSize,
      correction2Sqrt,
    ]);
  }
}
