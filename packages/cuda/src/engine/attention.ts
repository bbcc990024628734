/**
 * BertAttention on the device: one packed QKV linear, head split, scores GEMM (scale as alpha),
 * attention.cu's fused mask + softmax + dropout, context GEMM, merge, output linear, then the
 * residual LayerNorm. Backward in reverse; attention dropout is regenerated, not stored.
 */
import type { DevicePtr } from '../libraries/driver.js';
import { linearBackward, linearForward } from './linear.js';
import { residualLayerNormBackward, residualLayerNormForward } from './residual-layernorm.js';
import {
  DROPOUT_SITE,
  grad,
  kept,
  offsetX,
  paramX,
  rate,
  shared,
  type StepContext,
} from './step-context.js';

const SOFTMAX_THREADS = 128;

function shapes(ctx: StepContext) {
  const { batchSize: b, seqLen: t } = ctx.plan;
  const { hiddenSize: h, numHeads: nh } = ctx.dims;
  const d = h / nh;
  return { b, t, h, nh, d, n: b * t, bh: b * nh, scale: 1 / Math.sqrt(d) };
}

/** Batched GEMM over the b*nh heads (column-major conventions, see linear.ts). */
function headsMatmul(
  ctx: StepContext,
  s: ReturnType<typeof shapes>,
  op: {
    transA: boolean;
    transB: boolean;
    m: number;
    n: number;
    k: number;
    lda: number;
    ldb: number;
    ldc: number;
    strideA: number;
    strideB: number;
    strideC: number;
  },
  a: DevicePtr,
  b: DevicePtr,
  c: DevicePtr,
  alpha: number,
): void {
  const t = ctx.xType;
  ctx.blas.matmul(
    {
      transA: op.transA,
      transB: op.transB,
      m: op.m,
      n: op.n,
      k: op.k,
      lda: op.lda,
      ldb: op.ldb,
      ldc: op.ldc,
      aType: t,
      bType: t,
      cType: t,
      batch: { count: s.bh, strideA: op.strideA, strideB: op.strideB, strideC: op.strideC },
    },
    a,
    b,
    c,
    alpha,
    0,
  );
}

/** Layer `layer`'s attention block: h1 = LayerNorm(dropout(attention(x) W_o + b_o) + x). */
export function attentionForward(ctx: StepContext, layer: number, x: DevicePtr): void {
  const s = shapes(ctx);
  const p = `bert.encoder.layer.${layer}.attention`;
  const qkvWeight = paramX(ctx, `${p}.self.query.weight`);
  const qkvBias = paramX(ctx, `${p}.self.query.bias`);
  const heads = kept(ctx, layer, 'heads');
  const [q, k, v] = [heads, offsetX(ctx, heads, s.n * s.h), offsetX(ctx, heads, 2 * s.n * s.h)];
  linearForward(ctx, shared(ctx, 'qkv'), x, qkvWeight, qkvBias, s.n, s.h, 3 * s.h);
  ctx.kernels.elementwise('attention_split_heads', 3 * s.n * s.h, [
    heads,
    shared(ctx, 'qkv'),
    s.b,
    s.t,
    s.nh,
    s.d,
  ]);
  // scores [T_q, T_k] = scale q k^T
  headsMatmul(
    ctx,
    s,
    {
      transA: true,
      transB: false,
      m: s.t,
      n: s.t,
      k: s.d,
      lda: s.d,
      ldb: s.d,
      ldc: s.t,
      strideA: s.t * s.d,
      strideB: s.t * s.d,
      strideC: s.t * s.t,
    },
    k,
    q,
    shared(ctx, 'scores'),
    s.scale,
  );
  const dropout = rate(ctx, ctx.dims.attentionDropout);
  const probs = kept(ctx, layer, 'probs');
  const dropped = dropout > 0 ? shared(ctx, 'scores') : probs;
  // In place over the scores when dropping: each row is read fully before it is written.
  ctx.kernels.launch(
    'attention_softmax_forward',
    Math.ceil((s.bh * s.t) / (SOFTMAX_THREADS / 32)),
    SOFTMAX_THREADS,
    [
      probs,
      dropped,
      shared(ctx, 'scores'),
      shared(ctx, 'mask'),
      s.b,
      s.nh,
      s.t,
      dropout,
      ctx.seed,
      DROPOUT_SITE.attentionProbs(layer),
      ctx.counter,
    ],
  );
  // context [T_q, d] = probs v
  headsMatmul(
    ctx,
    s,
    {
      transA: false,
      transB: false,
      m: s.d,
      n: s.t,
      k: s.t,
      lda: s.d,
      ldb: s.t,
      ldc: s.d,
      strideA: s.t * s.d,
      strideB: s.t * s.t,
      strideC: s.t * s.d,
    },
    v,
    dropped,
    shared(ctx, 'ctxHeads'),
    1,
  );
  ctx.kernels.elementwise('attention_permute_context', s.n * s.h, [
    kept(ctx, layer, 'context'),
    shared(ctx, 'ctxHeads'),
    s.b,
    s.t,
    s.nh,
    s.d,
    0,
  ]);
  linearForward(
    ctx,
    shared(ctx, 'dense'),
    kept(ctx, layer, 'context'),
    paramX(ctx, `${p}.output.dense.weight`),
    paramX(ctx, `${p}.output.dense.bias`),
    s.n,
    s.h,
    s.h,
  );
  residualLayerNormForward(
    ctx,
    `${p}.output.LayerNorm`,
    kept(ctx, layer, 'h1'),
    {
      pre: kept(ctx, layer, 'pre1'),
      mean: kept(ctx, layer, 'mean1'),
      rstd: kept(ctx, layer, 'rstd1'),
    },
    shared(ctx, 'dense'),
    x,
    DROPOUT_SITE.attentionOutput(layer),
  );
}

/** Backward of attentionForward: dX (= d x) from dH1, parameter gradients added. */
export function attentionBackward(
  ctx: StepContext,
  layer: number,
  x: DevicePtr,
  dH1: DevicePtr,
  dX: DevicePtr,
): void {
  const s = shapes(ctx);
  const p = `bert.encoder.layer.${layer}.attention`;
  const dA = shared(ctx, 'dA');
  residualLayerNormBackward(
    ctx,
    `${p}.output.LayerNorm`,
    dX,
    dA,
    dH1,
    {
      pre: kept(ctx, layer, 'pre1'),
      mean: kept(ctx, layer, 'mean1'),
      rstd: kept(ctx, layer, 'rstd1'),
    },
    DROPOUT_SITE.attentionOutput(layer),
  );
  linearBackward(
    ctx,
    {
      dx: shared(ctx, 'dCtx'),
      dWeight: grad(ctx, `${p}.output.dense.weight`),
      dBias: grad(ctx, `${p}.output.dense.bias`),
      accumulateDx: false,
    },
    dA,
    kept(ctx, layer, 'context'),
    paramX(ctx, `${p}.output.dense.weight`),
    s.n,
    s.h,
    s.h,
  );
  const dCtxHeads = shared(ctx, 'dCtxHeads');
  ctx.kernels.elementwise('attention_permute_context', s.n * s.h, [
    dCtxHeads,
    shared(ctx, 'dCtx'),
    s.b,
    s.t,
    s.nh,
    s.d,
    1,
  ]);
  const heads = kept(ctx, layer, 'heads');
  const [q, k, v] = [heads, offsetX(ctx, heads, s.n * s.h), offsetX(ctx, heads, 2 * s.n * s.h)];
  const dHeads = shared(ctx, 'dHeads');
  const [dq, dk, dv] = [
    dHeads,
    offsetX(ctx, dHeads, s.n * s.h),
    offsetX(ctx, dHeads, 2 * s.n * s.h),
  ];
  const dropout = rate(ctx, ctx.dims.attentionDropout);
  const site = DROPOUT_SITE.attentionProbs(layer);
  const probs = kept(ctx, layer, 'probs');
  let dropped = probs;
  if (dropout > 0) {
    dropped = shared(ctx, 'scores');
    ctx.kernels.elementwise('dropout_apply', s.bh * s.t * s.t, [
      dropped,
      probs,
      s.bh * s.t * s.t,
      dropout,
      ctx.seed,
      site,
      ctx.counter,
    ]);
  }
  // dv [T_k, d] = dropped^T dctx
  headsMatmul(
    ctx,
    s,
    {
      transA: false,
      transB: true,
      m: s.d,
      n: s.t,
      k: s.t,
      lda: s.d,
      ldb: s.t,
      ldc: s.d,
      strideA: s.t * s.d,
      strideB: s.t * s.t,
      strideC: s.t * s.d,
    },
    dCtxHeads,
    dropped,
    dv,
    1,
  );
  // d dropped [T_q, T_k] = dctx v^T
  const dScores = shared(ctx, 'dScores');
  headsMatmul(
    ctx,
    s,
    {
      transA: true,
      transB: false,
      m: s.t,
      n: s.t,
      k: s.d,
      lda: s.d,
      ldb: s.d,
      ldc: s.t,
      strideA: s.t * s.d,
      strideB: s.t * s.d,
      strideC: s.t * s.t,
    },
    v,
    dCtxHeads,
    dScores,
    1,
  );
  ctx.kernels.launch(
    'attention_softmax_backward',
    Math.ceil((s.bh * s.t) / (SOFTMAX_THREADS / 32)),
    SOFTMAX_THREADS,
    [dScores, dScores, probs, s.bh * s.t, s.t, dropout, ctx.seed, site, ctx.counter],
  );
  // dq = scale dS k, dk = scale dS^T q
  headsMatmul(
    ctx,
    s,
    {
      transA: false,
      transB: false,
      m: s.d,
      n: s.t,
      k: s.t,
      lda: s.d,
      ldb: s.t,
      ldc: s.d,
      strideA: s.t * s.d,
      strideB: s.t * s.t,
      strideC: s.t * s.d,
    },
    k,
    dScores,
    dq,
    s.scale,
  );
  headsMatmul(
    ctx,
    s,
    {
      transA: false,
      transB: true,
      m: s.d,
      n: s.t,
      k: s.t,
      lda: s.d,
      ldb: s.t,
      ldc: s.d,
      strideA: s.t * s.d,
      strideB: s.t * s.t,
      strideC: s.t * s.d,
    },
    q,
    dScores,
    dk,
    s.scale,
  );
  ctx.kernels.elementwise('attention_merge_qkv_grad', 3 * s.n * s.h, [
    shared(ctx, 'dQkv'),
    dHeads,
    s.b,
    s.t,
    s.nh,
    s.d,
  ]);
  linearBackward(
    ctx,
    {
      dx: dX,
      dWeight: grad(ctx, `${p}.self.query.weight`),
      dBias: grad(ctx, `${p}.self.query.bias`),
      accumulateDx: true,
    },
    shared(ctx, 'dQkv'),
    x,
    paramX(ctx, `${p}.self.query.weight`),
    s.n,
    s.h,
    3 * s.h,
  );
}
