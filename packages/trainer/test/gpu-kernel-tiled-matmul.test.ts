import * as tf from '@tensorflow/tfjs-core';
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';

import { initBackend } from '../src/backend.js';
import { randomArray, relativeError } from '../src/gpu/kernels/kernel-compare.js';
import { matmulShape, tiledMatmulReference } from '../src/gpu/kernels/tiled-matmul.js';

describe('tiled matmul CPU reference', () => {
  before(async () => {
    await initBackend('cpu');
  });

  for (const [transposeA, transposeB] of [
    [false, false],
    [true, false],
    [false, true],
    [true, true],
  ] as const)
    it(`matches tf.matMul with transposeA=${transposeA} transposeB=${transposeB} on ragged shapes within 1e-5`, () => {
      const [batch, m, n, k] = [3, 37, 70, 53];
      const aShape = transposeA ? [batch, k, m] : [batch, m, k];
      const bShape = transposeB ? [1, n, k] : [1, k, n]; // B broadcasts over the batch
      const a = randomArray(batch * m * k, 1);
      const b = randomArray(n * k, 2);
      const want = tf
        .matMul(
          tf.tensor3d(a, aShape as [number, number, number]),
          tf.tile(tf.tensor3d(b, bShape as [number, number, number]), [batch, 1, 1]),
          transposeA,
          transposeB,
        )
        .dataSync();
      const s = matmulShape(aShape, bShape, transposeA, transposeB);
      assert.deepEqual([s.batch, s.m, s.n, s.k], [batch, m, n, k]);
      const err = relativeError(tiledMatmulReference(a, b, s), want);
      assert.ok(err < 1e-5, `relative error ${err}`);
    });

  it('rejects mismatched inner dimensions and non-broadcasting batches', () => {
    assert.throws(() => matmulShape([1, 2, 3], [1, 4, 5]), /inner dimensions differ/);
    assert.throws(() => matmulShape([2, 2, 3], [3, 3, 5]), /do not broadcast/);
  });
});
