import assert from 'node:assert/strict';
import { test } from 'node:test';
import { nerScores, seqevalResult, withoutOScores } from '../../src/metrics/ner-scores.js';

test('seqevalResult returns what evaluate.load("seqeval").compute returns', () => {
  // evaluate's docstring example: overall_f1 0.5, PER f1 1.0.
  const references = [
    ['O', 'O', 'O', 'B-MISC', 'I-MISC', 'I-MISC', 'O'],
    ['B-PER', 'I-PER', 'O'],
  ];
  const predictions = [
    ['O', 'O', 'B-MISC', 'I-MISC', 'I-MISC', 'I-MISC', 'O'],
    ['B-PER', 'I-PER', 'O'],
  ];
  assert.deepEqual(seqevalResult(references, predictions), {
    overall_precision: 0.5,
    overall_recall: 0.5,
    overall_f1: 0.5,
    overall_accuracy: 0.8,
    per_class: {
      MISC: { precision: 0, recall: 0, f1: 0, number: 1 },
      PER: { precision: 1, recall: 1, f1: 1, number: 1 },
    },
  });
});

test('per-class figures use zero_division 0 as evaluate does', () => {
  const result = seqevalResult([['B-LOC', 'O']], [['O', 'B-PER']]);
  assert.deepEqual(result.per_class, {
    LOC: { precision: 0, recall: 0, f1: 0, number: 1 },
    PER: { precision: 0, recall: 0, f1: 0, number: 0 },
  });
});

test('without-O figures drop gold-O positions and score the rest as one sequence', () => {
  const gold = [['O', 'B-PER', 'I-PER', 'O'], ['B-LOC']];
  const pred = [['B-LOC', 'B-PER', 'I-PER', 'O'], ['I-LOC']];
  const scores = nerScores(gold, pred);
  assert.equal(scores.overall_precision, 2 / 3); // the extra LOC at position 0
  // Kept: gold [B-PER, I-PER, B-LOC], pred [B-PER, I-PER, I-LOC]: both entities found.
  assert.deepEqual(scores.without_O, {
    overall_precision: 1,
    overall_recall: 1,
    overall_f1: 1,
    overall_accuracy: 2 / 3,
  });
});

test('without-O figures are all 0 when the gold data has no entity tag', () => {
  assert.deepEqual(withoutOScores([['O', 'O']], [['B-PER', 'O']]), {
    overall_precision: 0,
    overall_recall: 0,
    overall_f1: 0,
    overall_accuracy: 0,
  });
});

test('strict mode scores an I- start as no entity', () => {
  const gold = [['B-PER', 'I-PER']];
  const pred = [['I-PER', 'I-PER']];
  assert.equal(nerScores(gold, pred, 'default').overall_f1, 1);
  assert.equal(nerScores(gold, pred, 'strict').overall_f1, 0);
});
