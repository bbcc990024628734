/** layernorm.cu's LayerNorm(dropout(a) + residual) launchers (BertSelfOutput / BertOutput tails). */
import type { DevicePtr } from '../libraries/driver.js';
import { param32, grad, rate, type StepContext } from './step-context.js';

const THREADS = 256;
const ROWS_PER_BLOCK = 32;

/** Where one residual LayerNorm keeps its input sum and statistics. */
export interface LayerNormSaved {
  pre: DevicePtr;
  mean: DevicePtr;
  rstd: DevicePtr;
}

/** out = LayerNorm(dropout(a) + residual) with parameters `prefix`.weight/.bias. */
export function residualLayerNormForward(
  ctx: StepContext,
  prefix: string,
  out: DevicePtr,
  saved: LayerNormSaved,
  a: DevicePtr,
  residual: DevicePtr,
  site: number,
): void {
  const n = ctx.plan.batchSize * ctx.plan.seqLen;
  const h = ctx.dims.hiddenSize;
  ctx.kernels.launch('residual_layernorm_forward', n, THREADS, [
    out,
    saved.pre,
    saved.mean,
    saved.rstd,
    a,
    residual,
    param32(ctx, `${prefix}.weight`),
    param32(ctx, `${prefix}.bias`),
    n,
    h,
    ctx.dims.layerNormEps,
    rate(ctx, ctx.dims.hiddenDropout),
    ctx.seed,
    site,
    ctx.counter,
  ]);
}

/** dResidual = d(LN input), dA = the same through the dropout; LayerNorm gradients added. */
export function residualLayerNormBackward(
  ctx: StepContext,
  prefix: string,
  dResidual: DevicePtr,
  dA: DevicePtr,
  dOut: DevicePtr,
  saved: LayerNormSaved,
  site: number,
): void {
  const n = ctx.plan.batchSize * ctx.plan.seqLen;
  const h = ctx.dims.hiddenSize;
  ctx.kernels.launch(
    'residual_layernorm_backward',
    Math.ceil(n / ROWS_PER_BLOCK),
    THREADS,
    [
      dResidual,
      dA,
      grad(ctx, `${prefix}.weight`),
      grad(ctx, `${prefix}.bias`),
      dOut,
      saved.pre,
      saved.mean,
      saved.rstd,
      param32(ctx, `${prefix}.weight`),
      n,
      h,
      ROWS_PER_BLOCK,
      rate(ctx, ctx.dims.hiddenDropout),
      ctx.seed,
      site,
      ctx.counter,
    ],
    2 * h * 4,
  );
}
