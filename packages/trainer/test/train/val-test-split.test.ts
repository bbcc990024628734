import assert from 'node:assert/strict';
import { test } from 'node:test';
import { carvedSizes, carveValTest, seededPermutation } from '../../src/train/val-test-split.js';

const items = Array.from({ length: 103 }, (_, i) => i);

test('val_test_size 0.1 carves ceil(10%) for validation and for test each', () => {
  const { train, val, test: testSet } = carveValTest(items, 0.1, 42);
  assert.deepEqual([train.length, val.length, testSet.length], [81, 11, 11]);
  assert.deepEqual(carvedSizes(1000, 0.15), [700, 150, 150]);
});

test('the three sets partition the input and keep its order', () => {
  const { train, val, test: testSet } = carveValTest(items, 0.2, 7);
  assert.deepEqual(
    [...train, ...val, ...testSet].sort((a, b) => a - b),
    items,
  );
  for (const part of [train, val, testSet])
    assert.deepEqual(
      part,
      [...part].sort((a, b) => a - b),
    );
});

test('the same seed gives the same split and another seed a different one', () => {
  assert.deepEqual(carveValTest(items, 0.1, 42), carveValTest(items, 0.1, 42));
  assert.notDeepEqual(carveValTest(items, 0.1, 42).val, carveValTest(items, 0.1, 43).val);
  assert.deepEqual(
    [...seededPermutation(50, 1)].sort((a, b) => a - b),
    Array.from({ length: 50 }, (_, i) => i),
  );
});

test('too few sentences to carve from is an error naming the file', () => {
  assert.throws(
    () => carveValTest([1, 2], 0.4, 1, 'data/train.csv'),
    /data\/train\.csv has 2 sentences/,
  );
});
