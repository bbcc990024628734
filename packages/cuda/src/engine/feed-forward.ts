/** BertIntermediate + BertOutput on the device: linear, activation, linear, residual LayerNorm. */
import { HIDDEN_ACTS } from './dims.js';
import { linearBackward, linearForward } from './linear.js';
import { residualLayerNormBackward, residualLayerNormForward } from './residual-layernorm.js';
import {
  DROPOUT_SITE,
  grad,
  hidden,
  kept,
  paramX,
  shared,
  type StepContext,
} from './step-context.js';

function saved(ctx: StepContext, layer: number) {
  return {
    pre: kept(ctx, layer, 'pre2'),
    mean: kept(ctx, layer, 'mean2'),
    rstd: kept(ctx, layer, 'rstd2'),
  };
}

/** hidden[layer + 1] = LayerNorm(dropout(act(h1 W_i + b_i) W_o + b_o) + h1). */
export function feedForwardForward(ctx: StepContext, layer: number): void {
  const n = ctx.plan.batchSize * ctx.plan.seqLen;
  const { hiddenSize: h, intermediateSize: i } = ctx.dims;
  const p = `bert.encoder.layer.${layer}`;
  linearForward(
    ctx,
    kept(ctx, layer, 'interPre'),
    kept(ctx, layer, 'h1'),
    paramX(ctx, `${p}.intermediate.dense.weight`),
    paramX(ctx, `${p}.intermediate.dense.bias`),
    n,
    h,
    i,
  );
  ctx.kernels.elementwise('activation_forward', n * i, [
    kept(ctx, layer, 'inter'),
    kept(ctx, layer, 'interPre'),
    n * i,
    HIDDEN_ACTS.indexOf(ctx.dims.hiddenAct),
  ]);
  linearForward(
    ctx,
    shared(ctx, 'dense'),
    kept(ctx, layer, 'inter'),
    paramX(ctx, `${p}.output.dense.weight`),
    paramX(ctx, `${p}.output.dense.bias`),
    n,
    i,
    h,
  );
  residualLayerNormForward(
    ctx,
    `${p}.output.LayerNorm`,
    hidden(ctx, layer + 1),
    saved(ctx, layer),
    shared(ctx, 'dense'),
    kept(ctx, layer, 'h1'),
    DROPOUT_SITE.ffnOutput(layer),
  );
}

/** From d hidden[layer + 1] to dH1 (= the attention block's output gradient). */
export function feedForwardBackward(
  ctx: StepContext,
  layer: number,
  dOut: bigint,
  dH1: bigint,
): void {
  const n = ctx.plan.batchSize * ctx.plan.seqLen;
  const { hiddenSize: h, intermediateSize: i } = ctx.dims;
  const p = `bert.encoder.layer.${layer}`;
  const dA = shared(ctx, 'dA');
  const dInter = shared(ctx, 'dInter');
  residualLayerNormBackward(
    ctx,
    `${p}.output.LayerNorm`,
    dH1,
    dA,
    dOut,
    saved(ctx, layer),
    DROPOUT_SITE.ffnOutput(layer),
  );
  linearBackward(
    ctx,
    {
      dx: dInter,
      dWeight: grad(ctx, `${p}.output.dense.weight`),
      dBias: grad(ctx, `${p}.output.dense.bias`),
      accumulateDx: false,
    },
    dA,
    kept(ctx, layer, 'inter'),
    paramX(ctx, `${p}.output.dense.weight`),
    n,
    i,
    h,
  );
  ctx.kernels.elementwise('activation_backward', n * i, [
    dInter,
    dInter,
    kept(ctx, layer, 'interPre'),
    n * i,
    HIDDEN_ACTS.indexOf(ctx.dims.hiddenAct),
  ]);
  linearBackward(
    ctx,
    {
      dx: dH1,
      dWeight: grad(ctx, `${p}.intermediate.dense.weight`),
      dBias: grad(ctx, `${p}.intermediate.dense.bias`),
      accumulateDx: true,
    },
    dInter,
    kept(ctx, layer, 'h1'),
    paramX(ctx, `${p}.intermediate.dense.weight`),
    n,
    h,
    i,
  );
}
