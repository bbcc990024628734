import assert from 'node:assert/strict';
import { test } from 'node:test';
import { lengthBuckets } from '../../src/predict/length-buckets.js';

test('lengthBuckets groups indices shortest first, ties in input order, every index once', () => {
  const lengths = [5, 2, 9, 2, 7, 5, 3];
  const batches = lengthBuckets(lengths, 3);
  assert.deepEqual(batches, [[1, 3, 6], [0, 5, 4], [2]]);
  assert.deepEqual(
    batches.flat().sort((a, b) => a - b),
    [0, 1, 2, 3, 4, 5, 6],
  );
});

test('lengthBuckets refuses a batch size that is not a positive integer', () => {
  assert.throws(() => lengthBuckets([1], 0), /positive integer, got 0/);
  assert.throws(() => lengthBuckets([1], 1.5), /positive integer/);
});

test('lengthBuckets of nothing is no batch', () => {
  assert.deepEqual(lengthBuckets([], 4), []);
});
