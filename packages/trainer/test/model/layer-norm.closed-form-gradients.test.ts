/**
 * LayerNorm and exact GELU carry closed-form gradients (layer-norm.ts, activation.ts) instead of
 * tfjs's autodiff through their elementwise ops. Checked here against that autodiff of the same
 * formulas, on wasm, for inputs with non-trivial statistics: values, weight and bias gradients
 * within 2e-6 (float32 rounding of two different operation orders).
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/backend.js';
import { activation } from '../../src/model/activation.js';
import { layerNorm } from '../../src/model/layer-norm.js';

before(async () => {
  await initBackend('wasm');
});

const TOLERANCE = 2e-6;

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
}

function seeded(shape: number[], seed: number, scale = 1, offset = 0): tf.Tensor {
  return tf.add(tf.mul(tf.randomNormal(shape, 0, 1, 'float32', seed), scale), offset);
}

test('LayerNorm: values and gradients (input, weight, bias) equal autodiff of the formula', () => {
  const eps = 1e-12;
  const x = seeded([3, 7, 16], 1, 3, 0.5);
  const weight = seeded([16], 2, 0.5, 1);
  const bias = seeded([16], 3, 0.1);
  // An upstream gradient that is not uniform, so every term of the closed form matters.
  const upstream = seeded([3, 7, 16], 4);
  const composite = (xv: tf.Tensor, wv: tf.Tensor, bv: tf.Tensor) => {
    const mean = tf.mean(xv, -1, true);
    const centred = tf.sub(xv, mean);
    const variance = tf.mean(tf.square(centred), -1, true);
    return tf.add(tf.mul(tf.mul(centred, tf.rsqrt(tf.add(variance, eps))), wv), bv);
  };
  const loss =
    (f: typeof composite) =>
    (xv: tf.Tensor, wv: tf.Tensor, bv: tf.Tensor): tf.Scalar =>
      tf.sum(tf.mul(f(xv, wv, bv), upstream));
  const ours = tf.grads(loss((a, b, c) => layerNorm(a, b, c, eps)))([x, weight, bias]);
  const reference = tf.grads(loss(composite))([x, weight, bias]);
  assert.ok(maxAbsDiff(layerNorm(x, weight, bias, eps), composite(x, weight, bias)) === 0);
  ['input', 'weight', 'bias'].forEach((name, i) => {
    const diff = maxAbsDiff(ours[i]!, reference[i]!);
    assert.ok(diff < TOLERANCE, `gradient of ${name}: max abs diff ${diff}`);
    assert.ok(tf.max(tf.abs(ours[i]!)).dataSync()[0]! > 1e-2, `gradient of ${name} is not ~0`);
  });
});

test('exact GELU: gradient equals autodiff of 0.5 x (1 + erf(x / sqrt 2))', () => {
  const x = seeded([4, 33], 5, 2);
  const upstream = seeded([4, 33], 6);
  const composite = (xv: tf.Tensor) =>
    tf.mul(tf.mul(xv, 0.5), tf.add(tf.erf(tf.mul(xv, Math.SQRT1_2)), 1));
  const ours = tf.grad((xv: tf.Tensor) => tf.sum(tf.mul(activation(xv, 'gelu'), upstream)))(x);
  const reference = tf.grad((xv: tf.Tensor) => tf.sum(tf.mul(composite(xv), upstream)))(x);
  assert.ok(maxAbsDiff(activation(x, 'gelu'), composite(x)) === 0);
  const diff = maxAbsDiff(ours, reference);
  assert.ok(diff < TOLERANCE, `gradient: max abs diff ${diff}`);
});
