/** BertEmbeddings on the device: embeddings.cu's forward (gather, sum, LayerNorm, dropout) and backward. */
import {
  DROPOUT_SITE,
  grad,
  hidden,
  param32,
  rate,
  shared,
  type StepContext,
} from './step-context.js';

const E = 'bert.embeddings';
const LN_THREADS = 256;
const ROWS_PER_BLOCK = 32;

/** hidden[0] = dropout(LayerNorm(word + position + token type)). */
export function embeddingsForward(ctx: StepContext): void {
  const { batchSize: b, seqLen: t } = ctx.plan;
  const n = b * t;
  const { hiddenSize: h } = ctx.dims;
  ctx.kernels.launch('embeddings_forward', n, LN_THREADS, [
    hidden(ctx, 0),
    shared(ctx, 'embPre'),
    shared(ctx, 'embMean'),
    shared(ctx, 'embRstd'),
    shared(ctx, 'ids'),
    0n,
    param32(ctx, `${E}.word_embeddings.weight`),
    param32(ctx, `${E}.position_embeddings.weight`),
    param32(ctx, `${E}.token_type_embeddings.weight`),
    param32(ctx, `${E}.LayerNorm.weight`),
    param32(ctx, `${E}.LayerNorm.bias`),
    n,
    t,
    h,
    ctx.dims.layerNormEps,
    rate(ctx, ctx.dims.hiddenDropout),
    ctx.seed,
    DROPOUT_SITE.embeddings,
    ctx.counter,
  ]);
}

/** Adds the three tables' and the LayerNorm's gradients from `dOut` (overwritten on the way). */
export function embeddingsBackward(ctx: StepContext, dOut: bigint): void {
  const { batchSize: b, seqLen: t } = ctx.plan;
  const n = b * t;
  const { hiddenSize: h, typeVocabSize } = ctx.dims;
  ctx.kernels.launch(
    'embeddings_backward',
    Math.ceil(n / ROWS_PER_BLOCK),
    LN_THREADS,
    [
      grad(ctx, `${E}.word_embeddings.weight`),
      grad(ctx, `${E}.position_embeddings.weight`),
      grad(ctx, `${E}.token_type_embeddings.weight`),
      grad(ctx, `${E}.LayerNorm.weight`),
      grad(ctx, `${E}.LayerNorm.bias`),
      dOut,
      shared(ctx, 'embPre'),
      shared(ctx, 'embMean'),
      shared(ctx, 'embRstd'),
      shared(ctx, 'ids'),
      0n,
      param32(ctx, `${E}.LayerNorm.weight`),
      n,
      t,
      h,
      typeVocabSize,
      ROWS_PER_BLOCK,
      rate(ctx, ctx.dims.hiddenDropout),
      ctx.seed,
      DROPOUT_SITE.embeddings,
      ctx.counter,
    ],
    (2 + typeVocabSize) * h * 4,
  );
}
