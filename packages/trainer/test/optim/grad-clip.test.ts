import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clipGradNorm } from '../../src/optim/grad-clip.js';

test('gradients above the max norm are scaled to it and the pre-clip norm is returned', () => {
  const a = new Float32Array([3, 0]);
  const b = new Float32Array([0, 4]);
  const norm = clipGradNorm([a, b], 1.0);
  assert.equal(norm, 5);
  const coefficient = Math.fround(1 / (5 + 1e-6));
  assert.deepEqual(
    [...a, ...b],
    [Math.fround(3 * coefficient), 0, 0, Math.fround(4 * coefficient)],
  );
});

test('gradients below the max norm are left unchanged', () => {
  const a = new Float32Array([0.3, 0.4]);
  assert.ok(Math.abs(clipGradNorm([a], 1.0) - 0.5) < 1e-7);
  assert.deepEqual([...a], [Math.fround(0.3), Math.fround(0.4)]);
});

test('a non-finite norm propagates as in torch (error_if_nonfinite=False)', () => {
  const a = new Float32Array([Number.NaN, 1]);
  assert.ok(Number.isNaN(clipGradNorm([a], 1.0)));
});
