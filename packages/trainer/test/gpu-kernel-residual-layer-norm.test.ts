import * as tf from '@tensorflow/tfjs-core';
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';

import { initBackend } from '../src/backend.js';
import { randomArray, relativeError } from '../src/gpu/kernels/kernel-compare.js';
import {
  residualLayerNormBackwardReference,
  residualLayerNormReference,
} from '../src/gpu/kernels/residual-layer-norm.js';

describe('residual + LayerNorm CPU reference', () => {
  before(async () => {
    await initBackend('cpu');
  });

  it('matches tfjs-cpu LayerNorm(x + r) and its gradients (x, r, gamma, beta) within 1e-5', () => {
    const rows = 48;
    const cols = 200;
    const eps = 1e-12;
    const x = randomArray(rows * cols, 1, 2);
    const r = randomArray(rows * cols, 2, 1);
    const gamma = randomArray(cols, 3, 1).map((v) => 1 + 0.5 * v);
    const beta = randomArray(cols, 4, 0.2);
    const dy = randomArray(rows * cols, 5, 1);
    const f = (xt: tf.Tensor, rt: tf.Tensor, g: tf.Tensor, bt: tf.Tensor) => {
      const h = tf.add(xt, rt);
      const { mean, variance } = tf.moments(h, -1, true);
      return tf.add(tf.mul(tf.div(tf.sub(h, mean), tf.sqrt(tf.add(variance, eps))), g), bt);
    };
    const inputs = [
      tf.tensor2d(x, [rows, cols]),
      tf.tensor2d(r, [rows, cols]),
      tf.tensor1d(gamma),
      tf.tensor1d(beta),
    ];
    const y = f(inputs[0], inputs[1], inputs[2], inputs[3]).dataSync();
    const grads = tf
      .grads(f)(inputs, tf.tensor2d(dy, [rows, cols]))
      .map((t) => t.dataSync());
    const fwd = relativeError(residualLayerNormReference(x, r, gamma, beta, eps), y);
    assert.ok(fwd < 1e-5, `forward relative error ${fwd}`);
    const ref = residualLayerNormBackwardReference(x, r, gamma, dy, eps);
    const errs = {
      dx: relativeError(ref.dh, grads[0]),
      dr: relativeError(ref.dh, grads[1]),
      dGamma: relativeError(ref.dGamma, grads[2]),
      dBeta: relativeError(ref.dBeta, grads[3]),
    };
    for (const [name, e] of Object.entries(errs))
      assert.ok(e < 1e-5, `${name}: relative error ${e}`);
  });
});
