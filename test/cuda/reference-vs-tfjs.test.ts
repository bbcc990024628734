/**
 * The float64 kernel references (what the GPU check compares the kernels to) against tfjs's
 * autodiff of the same maths as the trainer's model (layer-norm.ts, self-attention.ts,
 * activation.ts, loss.ts), on tiny shapes, so the references themselves are trustworthy.
 */
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { adamwUpdate, initBackend } from '@ner-launch/trainer';
import {
  activate,
  activateGrad,
  adamwReference,
  attentionBackward,
  attentionForward,
  biasGrad,
  crossEntropy,
  layerNormBackward,
  layerNormForward,
  maskedSoftmax,
  softmaxBackward,
} from '@ner-launch/cuda/reference';
import { assertClose, seeded } from '../support/close.js';

before(async () => {
  await initBackend('cpu');
});

const f32 = (values: ArrayLike<number>) => Float32Array.from(values);

test('LayerNorm forward and backward match tfjs (torch.nn.LayerNorm maths)', () => {
  const [n, h, eps] = [5, 16, 1e-12];
  const x = seeded(n * h, 1, 2);
  const gamma = seeded(h, 2);
  const beta = seeded(h, 3);
  const dy = seeded(n * h, 4);
  const ours = layerNormForward(x, gamma, beta, n, h, eps);
  const grads = layerNormBackward(dy, x, gamma, n, h, eps);
  const norm = (xs: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
    const { mean, variance } = tf.moments(xs, -1, true);
    return tf.add(tf.mul(tf.mul(tf.sub(xs, mean), tf.rsqrt(tf.add(variance, eps))), g), b);
  };
  const [xt, gt, bt, dyt] = [
    tf.tensor2d(f32(x), [n, h]),
    tf.tensor1d(f32(gamma)),
    tf.tensor1d(f32(beta)),
    tf.tensor2d(f32(dy), [n, h]),
  ];
  assertClose(ours.out, norm(xt, gt, bt).dataSync(), 'out', 1e-5);
  const [dx, dg, db] = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
    tf.sum(tf.mul(norm(a, b, c), dyt)),
  )([xt, gt, bt]);
  assertClose(grads.dx, dx!.dataSync(), 'dx', 1e-4);
  assertClose(grads.dgamma, dg!.dataSync(), 'dgamma', 1e-4);
  assertClose(grads.dbeta, db!.dataSync(), 'dbeta', 1e-4);
});

test('attention forward and backward (with a padding mask and a dropout mask) match tfjs', () => {
  const s = { batch: 2, heads: 2, length: 5, headDim: 4 };
  const size = s.batch * s.heads * s.length * s.headDim;
  const [q, k, v, dContext] = [seeded(size, 5), seeded(size, 6), seeded(size, 7), seeded(size, 8)];
  const mask = [1, 1, 1, 0, 0, 1, 1, 1, 1, 1];
  const p = 0.25;
  const keep = Float64Array.from(seeded(s.batch * s.heads * s.length * s.length, 9), (u) =>
    u > -0.5 ? 1 : 0,
  );
  const ours = attentionForward(s, q, k, v, mask, p, keep);
  const back = attentionBackward(s, q, k, v, ours.probs, dContext, p, keep);
  const shape4 = [s.batch, s.heads, s.length, s.headDim];
  const additive = tf.reshape(
    tf.mul(tf.sub(1, tf.tensor1d(mask, 'float32')), -3.4028234663852886e38),
    [s.batch, 1, 1, s.length],
  );
  const keepT = tf.mul(tf.tensor4d(f32(keep), [s.batch, s.heads, s.length, s.length]), 1 / (1 - p));
  const probsOf = (qt: tf.Tensor, kt: tf.Tensor) =>
    tf.softmax(
      tf.add(
        tf.mul(
          tf.matMul(qt as tf.Tensor4D, kt as tf.Tensor4D, false, true),
          1 / Math.sqrt(s.headDim),
        ),
        additive,
      ),
    );
  const contextOf = (qt: tf.Tensor, kt: tf.Tensor, vt: tf.Tensor) =>
    tf.matMul(tf.mul(probsOf(qt, kt), keepT) as tf.Tensor4D, vt as tf.Tensor4D);
  const [qt, kt, vt] = [q, k, v].map((a) => tf.tensor(f32(a), shape4));
  assertClose(ours.probs, probsOf(qt!, kt!).dataSync(), 'probs', 1e-6);
  assertClose(ours.context, contextOf(qt!, kt!, vt!).dataSync(), 'context', 1e-5);
  const dct = tf.tensor(f32(dContext), shape4);
  const [dq, dk, dv] = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
    tf.sum(tf.mul(contextOf(a, b, c), dct)),
  )([qt!, kt!, vt!]);
  assertClose(back.dq, dq!.dataSync(), 'dq', 1e-5);
  assertClose(back.dk, dk!.dataSync(), 'dk', 1e-5);
  assertClose(back.dv, dv!.dataSync(), 'dv', 1e-5);
});

test('gelu, gelu_new and relu and their derivatives match tfjs autodiff of HF ACT2FN', () => {
  const x = Float64Array.from({ length: 41 }, (_, i) => -5 + i * 0.25 + 0.01);
  const forms = {
    gelu: (t: tf.Tensor) => tf.mul(tf.mul(t, 0.5), tf.add(tf.erf(tf.mul(t, Math.SQRT1_2)), 1)),
    gelu_new: (t: tf.Tensor) =>
      tf.mul(
        tf.mul(t, 0.5),
        tf.add(
          tf.tanh(tf.mul(tf.add(t, tf.mul(tf.pow(t, 3), 0.044715)), Math.sqrt(2 / Math.PI))),
          1,
        ),
      ),
    relu: (t: tf.Tensor) => tf.relu(t),
  };
  for (const [act, form] of Object.entries(forms) as [
    keyof typeof forms,
    (t: tf.Tensor) => tf.Tensor,
  ][]) {
    const xt = tf.tensor1d(f32(x));
    assertClose(
      Array.from(x, (v) => activate(v, act)),
      form(xt).dataSync(),
      act,
      1e-6,
    );
    assertClose(
      Array.from(x, (v) => activateGrad(v, act)),
      tf.grad(form)(xt).dataSync(),
      `${act}'`,
      1e-5,
    );
  }
});

test('cross-entropy with ignored labels, its gradient and the bias gradient match tfjs (loss.ts maths)', () => {
  const [n, l] = [6, 4];
  const logits = seeded(n * l, 10, 3);
  const labels = [2, -100, 0, 3, -100, 1];
  const normalizer = 4;
  const ours = crossEntropy(logits, labels, n, l, 1 / normalizer);
  const valid = tf.tensor1d(
    labels.map((y) => (y === -100 ? 0 : 1)),
    'float32',
  );
  const oneHot = tf.oneHot(
    tf.tensor1d(
      labels.map((y) => Math.max(y, 0)),
      'int32',
    ),
    l,
  );
  const loss = (t: tf.Tensor) =>
    tf.div(tf.neg(tf.sum(tf.mul(tf.sum(tf.mul(tf.logSoftmax(t), oneHot), -1), valid))), normalizer);
  const lt = tf.tensor2d(f32(logits), [n, l]);
  assertClose(
    [ours.rowLoss.reduce((a, b) => a + b, 0) / normalizer],
    loss(lt).dataSync(),
    'loss',
    1e-6,
  );
  assertClose(ours.dlogits, tf.grad(loss)(lt).dataSync(), 'dlogits', 1e-6);
  assertClose(ours.predictions, tf.argMax(lt, -1).dataSync(), 'argmax', 0, 0);
  assertClose(
    biasGrad(ours.dlogits, n, l),
    tf.sum(tf.grad(loss)(lt), 0).dataSync(),
    'bias gradient',
    1e-6,
  );
});

test("AdamW's float64 reference matches the trainer's torch-exact float32 AdamW", () => {
  const n = 64;
  const o = { lr: 3e-4, weightDecay: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, step: 3 };
  const [param, grad, m, v] = [
    seeded(n, 11),
    seeded(n, 12),
    seeded(n, 13, 0.01),
    seeded(n, 14, 1e-4).map(Math.abs),
  ];
  const ours = adamwReference(param, grad, m, v, o);
  const values = f32(param);
  const state = { step: o.step, expAvg: f32(m), expAvgSq: f32(v) };
  adamwUpdate(values, f32(grad), state, o.lr, o.weightDecay, o.beta1, o.beta2, o.eps);
  assertClose(ours.param, values, 'param', 1e-7, 1e-6);
  assertClose(ours.expAvg, state.expAvg, 'exp_avg', 1e-9, 1e-6);
  assertClose(ours.expAvgSq, state.expAvgSq, 'exp_avg_sq', 1e-12, 1e-6);
});

test('the masked softmax and its backward (the softmax kernel pair) match tfjs', () => {
  const [b, nh, t] = [2, 2, 4];
  const scores = seeded(b * nh * t * t, 15, 3);
  const dProbs = seeded(b * nh * t * t, 16);
  const mask = [1, 1, 0, 0, 1, 1, 1, 1];
  const additive = tf.reshape(
    tf.mul(tf.sub(1, tf.tensor1d(mask, 'float32')), -3.4028234663852886e38),
    [b, 1, 1, t],
  );
  const softmax = (x: tf.Tensor) => tf.softmax(tf.add(x, additive));
  const st = tf.tensor4d(f32(scores), [b, nh, t, t]);
  const probs = maskedSoftmax(scores, mask, b, nh, t);
  assertClose(probs, softmax(st).dataSync(), 'probs', 1e-6);
  const dpt = tf.tensor4d(f32(dProbs), [b, nh, t, t]);
  assertClose(
    softmaxBackward(dProbs, probs, b * nh * t, t),
    tf
      .grad((x: tf.Tensor) => tf.sum(tf.mul(softmax(x), dpt)))(st)
      .dataSync(),
    'dscores',
    1e-6,
  );
});
