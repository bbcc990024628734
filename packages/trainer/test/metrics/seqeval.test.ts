import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  averageScores,
  classScores,
  countEntities,
  numpySum,
  SequenceLengthError,
  tokenAccuracy,
} from '../../src/metrics/seqeval.js';

// seqeval's docstring example.
const GOLD = [
  ['O', 'O', 'O', 'B-MISC', 'I-MISC', 'I-MISC', 'O'],
  ['B-PER', 'I-PER', 'O'],
];
const PRED = [
  ['O', 'O', 'B-MISC', 'I-MISC', 'I-MISC', 'I-MISC', 'O'],
  ['B-PER', 'I-PER', 'O'],
];

test('entity counts per type are sorted and count exact-boundary matches only', () => {
  assert.deepEqual(countEntities(GOLD, PRED, 'default'), [
    { type: 'MISC', truePositives: 0, predicted: 1, support: 1 },
    { type: 'PER', truePositives: 1, predicted: 1, support: 1 },
  ]);
});

test('micro, macro and weighted averages equal seqeval docstring values', () => {
  const counts = countEntities(GOLD, PRED, 'default');
  for (const average of ['micro', 'macro', 'weighted'] as const)
    assert.deepEqual(averageScores(counts, average, 0), {
      precision: 0.5,
      recall: 0.5,
      f1: 0.5,
      support: 2,
    });
});

test('token accuracy is the share of equal tags (0.8 in seqeval example)', () => {
  assert.equal(tokenAccuracy(GOLD, PRED), 0.8);
});

test('zero_division fills precision or recall, and F1 follows from the filled values', () => {
  const missed = { type: 'LOC', truePositives: 0, predicted: 0, support: 3 };
  assert.deepEqual(classScores(missed, 0), { precision: 0, recall: 0, f1: 0, support: 3 });
  assert.deepEqual(classScores(missed, 1), { precision: 1, recall: 0, f1: 0, support: 3 });
});

test('averages over no entity at all follow seqeval (macro NaN, weighted zero_division)', () => {
  assert.deepEqual(averageScores([], 'micro', 1), { precision: 1, recall: 1, f1: 1, support: 0 });
  assert.ok(Number.isNaN(averageScores([], 'macro', 0).precision));
  assert.deepEqual(averageScores([], 'weighted', 1), {
    precision: 1,
    recall: 1,
    f1: 1,
    support: 0,
  });
  const onlyPredicted = [{ type: 'PER', truePositives: 0, predicted: 2, support: 0 }];
  assert.deepEqual(averageScores(onlyPredicted, 'weighted', 1), {
    precision: 0,
    recall: 1,
    f1: 0,
    support: 0,
  });
});

test('mismatched sentence counts or lengths throw naming the sentence', () => {
  assert.throws(() => countEntities([['O']], [], 'default'), SequenceLengthError);
  assert.throws(
    () => tokenAccuracy([['O'], ['O', 'O']], [['O'], ['O']]),
    /sentence 2: gold has 2 tags but the prediction has 1/,
  );
  assert.throws(() => tokenAccuracy([[]], [[]]), /no tokens/);
});

test('numpySum adds pairwise as numpy does, not left to right', () => {
  const values = Array.from({ length: 20 }, (_, i) => 1 / (i + 3));
  // Left to right differs in the last bit for this input; numpy's pairwise result is this one.
  assert.equal(numpySum(values), 2.190813250217275);
  assert.notEqual(
    values.reduce((a, b) => a + b, 0),
    2.190813250217275,
  );
  assert.equal(numpySum([]), 0);
});

test('types sort by code point as Python sorts str', () => {
  const gold = [['B-𝔸', 'B-b', 'B-B', 'B-\uffff']];
  const types = countEntities(gold, gold, 'default').map((c) => c.type);
  assert.deepEqual(types, ['B', 'b', '\uffff', '𝔸']);
});
