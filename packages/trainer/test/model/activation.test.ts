import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/backend.js';
import { activation } from '../../src/model/activation.js';

before(async () => {
  await initBackend('wasm');
});

// torch: F.gelu(x) (erf), F.gelu(x, approximate="tanh") (= HF gelu_new), F.relu(x).
const X = [-3, -1, -0.5, 0, 0.5, 1, 3];
const EXPECTED = {
  gelu: [-0.0040499, -0.1586553, -0.1542688, 0, 0.3457312, 0.8413447, 2.9959502],
  gelu_new: [-0.0036374, -0.158808, -0.154286, 0, 0.345714, 0.841192, 2.9963627],
  relu: [0, 0, 0, 0, 0.5, 1, 3],
};

for (const act of ['gelu', 'gelu_new', 'relu'] as const)
  test(`${act} matches torch's values within 1e-6`, () => {
    const y = activation(tf.tensor1d(X), act).dataSync();
    EXPECTED[act].forEach((want, i) =>
      assert.ok(Math.abs(y[i]! - want) < 1e-6, `${act}(${X[i]}) = ${y[i]}, torch ${want}`),
    );
  });
