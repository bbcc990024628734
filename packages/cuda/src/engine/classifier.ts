/** The token classification head: dropout, `classifier` linear, classifier.cu's cross-entropy. */
import { linearBackward, linearForward } from './linear.js';
import {
  DROPOUT_SITE,
  grad,
  hidden,
  paramX,
  rate,
  shared,
  type StepContext,
} from './step-context.js';

function classifierDropout(ctx: StepContext): number {
  return rate(ctx, ctx.dims.classifierDropout ?? ctx.dims.hiddenDropout);
}

/** logits = dropout(hidden[L]) W_c^T + b_c; per-row losses, and dlogits scaled by gradScale when asked. */
export function classifierForward(
  ctx: StepContext,
  withGradient: boolean,
  gradScale: number,
  withPredictions: boolean,
): void {
  const n = ctx.plan.batchSize * ctx.plan.seqLen;
  const { hiddenSize: h, numLabels: l, numLayers } = ctx.dims;
  const p = classifierDropout(ctx);
  const top = hidden(ctx, numLayers);
  const input = p > 0 ? shared(ctx, 'clsIn') : top;
  if (p > 0)
    ctx.kernels.elementwise('dropout_apply', n * h, [
      input,
      top,
      n * h,
      p,
      ctx.seed,
      DROPOUT_SITE.classifier,
      ctx.counter,
    ]);
  linearForward(
    ctx,
    shared(ctx, 'logits'),
    input,
    paramX(ctx, 'classifier.weight'),
    paramX(ctx, 'classifier.bias'),
    n,
    h,
    l,
  );
  ctx.kernels.launch('cross_entropy_forward_backward', Math.ceil(n / 128), 128, [
    shared(ctx, 'rowLoss'),
    withGradient ? shared(ctx, 'dLogits') : 0n,
    withPredictions ? shared(ctx, 'predictions') : 0n,
    shared(ctx, 'logits'),
    shared(ctx, 'labels'),
    n,
    l,
    gradScale,
  ]);
}

/** Classifier gradients, and d hidden[L] into `dTop`. */
export function classifierBackward(ctx: StepContext, dTop: bigint): void {
  const n = ctx.plan.batchSize * ctx.plan.seqLen;
  const { hiddenSize: h, numLabels: l, numLayers } = ctx.dims;
  const p = classifierDropout(ctx);
  const input = p > 0 ? shared(ctx, 'clsIn') : hidden(ctx, numLayers);
  const dInput = p > 0 ? shared(ctx, 'dClsIn') : dTop;
  linearBackward(
    ctx,
    {
      dx: dInput,
      dWeight: grad(ctx, 'classifier.weight'),
      dBias: grad(ctx, 'classifier.bias'),
      accumulateDx: false,
    },
    shared(ctx, 'dLogits'),
    input,
    paramX(ctx, 'classifier.weight'),
    n,
    h,
    l,
  );
  if (p > 0)
    ctx.kernels.elementwise('dropout_apply', n * h, [
      dTop,
      dInput,
      n * h,
      p,
      ctx.seed,
      DROPOUT_SITE.classifier,
      ctx.counter,
    ]);
}
