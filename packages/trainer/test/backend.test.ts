import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../src/backend.js';
import { findTensorflowInstall } from '../src/backends/tensorflow-install.js';

test('wasm backend initialises and differentiates erf through the bundled gradients', async () => {
  assert.equal(await initBackend('wasm'), 'wasm');
  const dx = tf.grad((x: tf.Tensor) => tf.sum(tf.erf(x)))(tf.tensor1d([0.5]));
  // d/dx erf(x) = 2/sqrt(pi) * exp(-x^2)
  const expected = (2 / Math.sqrt(Math.PI)) * Math.exp(-0.25);
  assert.ok(Math.abs(dx.dataSync()[0]! - expected) < 1e-6);
});

test('auto picks tensorflow where it is set up, else the zero-install wasm', async () => {
  assert.equal(await initBackend('auto'), findTensorflowInstall() ? 'tensorflow' : 'wasm');
});
