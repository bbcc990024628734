import assert from 'node:assert/strict';
import { test } from 'node:test';
import { seededShuffle, splitDataset } from '../../src/data/dataset-split.js';

test('a split is deterministic for a seed, partitions the input and sizes parts by floor', () => {
  const items = Array.from({ length: 103 }, (_, i) => i);
  const a = splitDataset(items, { train: 0.8, val: 0.1 }, 42);
  const b = splitDataset(items, { train: 0.8, val: 0.1 }, 42);
  assert.deepEqual(a, b);
  assert.deepEqual([a.train.length, a.val.length, a.test.length], [82, 10, 11]);
  assert.deepEqual(
    [...a.train, ...a.val, ...a.test].sort((x, y) => x - y),
    items,
  );
  assert.notDeepEqual(splitDataset(items, { train: 0.8, val: 0.1 }, 43).train, a.train);
  assert.deepEqual(seededShuffle([1, 2, 3], 0).sort(), [1, 2, 3]);
});

test('bad ratios are rejected naming the flag', () => {
  assert.throws(
    () => splitDataset([1], { train: 0, val: 0.1 }, 1),
    /--train_ratio must be in \(0, 1\]/,
  );
  assert.throws(() => splitDataset([1], { train: 0.5, val: -1 }, 1), /--val_ratio/);
  assert.throws(() => splitDataset([1], { train: 0.8, val: 0.3 }, 1), /must not exceed 1/);
});
