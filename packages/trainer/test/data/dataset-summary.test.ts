import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compareCodePoints, orderLabels, SummaryCounter } from '../../src/data/dataset-summary.js';

test('labels are ordered O first, then by code point as Python sorts', () => {
  assert.deepEqual(orderLabels(['I-b', 'B-a', 'O', 'B-Z', 'B-\u{1f600}', 'B-\uff21']), [
    'O',
    'B-Z',
    'B-a',
    'B-\uff21',
    'B-\u{1f600}',
    'I-b',
  ]);
  assert.ok(compareCodePoints('\u{1f600}', '\uff21') > 0);
});

test('the counter adds sentences, tokens, tags, entity spans and invalid I- starts', () => {
  const counter = new SummaryCounter();
  counter.add({ tags: ['B-PER', 'I-PER', 'O', 'B-PER', 'B-PER'] });
  counter.add({ tags: ['I-LOC', 'I-PER', 'I-PER'] });
  assert.deepEqual(counter.summary(), {
    sentences: 2,
    tokens: 8,
    tags: { O: 1, 'B-PER': 3, 'I-LOC': 1, 'I-PER': 3 },
    entities: { LOC: 1, PER: 4 },
    invalidIobSequences: 2,
  });
});
