/**
 * One forward and one backward of BertForTokenClassification as the list of calls it is
 * (llm.c's train_gpt2.cu style): embeddings, each layer's attention and feed-forward, the head.
 */
import { attentionBackward, attentionForward } from './attention.js';
import { classifierBackward, classifierForward } from './classifier.js';
import { embeddingsBackward, embeddingsForward } from './embeddings.js';
import { feedForwardBackward, feedForwardForward } from './feed-forward.js';
import { hidden, shared, type StepContext } from './step-context.js';

/** Forward to per-row losses (and dlogits when `gradScale` is given, predictions when asked). */
export function forward(
  ctx: StepContext,
  options: { gradScale?: number; withPredictions: boolean },
): void {
  embeddingsForward(ctx);
  for (let layer = 0; layer < ctx.dims.numLayers; layer++) {
    attentionForward(ctx, layer, hidden(ctx, layer));
    feedForwardForward(ctx, layer);
  }
  classifierForward(
    ctx,
    options.gradScale !== undefined,
    options.gradScale ?? 1,
    options.withPredictions,
  );
}

/** Backward from the dlogits the forward left; gradients added into ctx.grads. */
export function backward(ctx: StepContext): void {
  let dOut = shared(ctx, 'dHiddenA');
  let dIn = shared(ctx, 'dHiddenB');
  classifierBackward(ctx, dOut);
  const dH1 = shared(ctx, 'dH1');
  for (let layer = ctx.dims.numLayers - 1; layer >= 0; layer--) {
    feedForwardBackward(ctx, layer, dOut, dH1);
    attentionBackward(ctx, layer, hidden(ctx, layer), dH1, dIn);
    [dOut, dIn] = [dIn, dOut];
  }
  embeddingsBackward(ctx, dOut);
}
