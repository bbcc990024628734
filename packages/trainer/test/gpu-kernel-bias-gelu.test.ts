import * as tf from '@tensorflow/tfjs-core';
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';

import { initBackend } from '../src/backend.js';
import { biasGeluBackwardReference, biasGeluReference } from '../src/gpu/kernels/bias-gelu.js';
import { erf64 } from '../src/gpu/kernels/erf.js';
import { randomArray, relativeError } from '../src/gpu/kernels/kernel-compare.js';

describe('bias + GELU CPU reference', () => {
  before(async () => {
    await initBackend('cpu');
  });

  it('computes erf to float64 accuracy at known values', () => {
    // erf(0.5), erf(1), erf(2), erf(-3) from tables (15+ digits).
    assert.ok(Math.abs(erf64(0.5) - 0.5204998778130465) < 1e-15);
    assert.ok(Math.abs(erf64(1) - 0.8427007929497149) < 1e-15);
    assert.ok(Math.abs(erf64(2) - 0.9953222650189527) < 1e-15);
    assert.ok(Math.abs(erf64(-3) + 0.9999779095030014) < 1e-15);
    assert.equal(erf64(0), 0);
  });

  it('matches tfjs-cpu gelu(x + b) and its gradient within 1e-5', () => {
    const rows = 64;
    const cols = 96;
    const x = randomArray(rows * cols, 3, 4);
    const b = randomArray(cols, 4, 1);
    const dy = randomArray(rows * cols, 5, 1);
    const gelu = (xt: tf.Tensor) => {
      const u = tf.add(xt, tf.tensor1d(b));
      return tf.mul(tf.mul(u, 0.5), tf.add(1, tf.erf(tf.mul(u, Math.SQRT1_2))));
    };
    const xt = tf.tensor2d(x, [rows, cols]);
    const y = gelu(xt).dataSync();
    const dx = tf
      .grad(gelu)(xt, tf.tensor2d(dy, [rows, cols]))
      .dataSync();
    const fwdErr = relativeError(biasGeluReference(x, b), y);
    const bwdErr = relativeError(biasGeluBackwardReference(x, b, dy), dx);
    assert.ok(fwdErr < 1e-5, `forward relative error ${fwdErr}`);
    assert.ok(bwdErr < 1e-5, `backward relative error ${bwdErr}`);
  });
});
