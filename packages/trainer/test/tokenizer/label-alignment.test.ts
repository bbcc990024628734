import assert from 'node:assert/strict';
import { test } from 'node:test';
import { alignLabels, IGNORE_LABEL, wordPredictions } from '../../src/tokenizer/label-alignment.js';

const LABELS = ['O', 'B-PER', 'I-PER', 'B-LOC'];
// [CLS] w0 w0 w1 w2 w2 w2 [SEP]
const WORD_IDS = [null, 0, 0, 1, 2, 2, 2, null];
const TAGS = ['B-PER', 'I-PER', 'B-LOC'];

test('every sub-token is labelled, later ones with B-X turned into I-X, specials -100', () => {
  assert.deepEqual(alignLabels(WORD_IDS, TAGS, LABELS, { labelAllSubtokens: true }), [
    IGNORE_LABEL,
    1,
    2,
    2,
    3,
    3,
    3,
    IGNORE_LABEL,
  ]);
});

test('B-X stays B-X on later sub-tokens when I-X is not a known label', () => {
  // I-LOC is absent from LABELS, so the reference's b_to_i mapping keeps B-LOC.
  assert.deepEqual(
    alignLabels([null, 0, 0, null], ['B-LOC'], LABELS, { labelAllSubtokens: true }),
    [IGNORE_LABEL, 3, 3, IGNORE_LABEL],
  );
});

test('labelAllSubtokens false gives -100 to every sub-token after the first', () => {
  assert.deepEqual(alignLabels(WORD_IDS, TAGS, LABELS, { labelAllSubtokens: false }), [
    IGNORE_LABEL,
    1,
    IGNORE_LABEL,
    2,
    3,
    IGNORE_LABEL,
    IGNORE_LABEL,
    IGNORE_LABEL,
  ]);
});

test('a tag outside the label set is an error naming the tag', () => {
  assert.throws(
    () => alignLabels([null, 0, null], ['B-ORG'], LABELS, { labelAllSubtokens: true }),
    /tag B-ORG is not in the label set/,
  );
});

test('word predictions come from each word’s first sub-token; words without tokens get null', () => {
  // Word 1 produced no token (e.g. a lone zero-width space), word 3 was truncated away.
  const wordIds = [null, 0, 0, 2, 2, null];
  const preds = ['x', 'B-PER', 'O', 'I-PER', 'B-LOC', 'x'];
  assert.deepEqual(wordPredictions(wordIds, preds, 4), ['B-PER', null, 'I-PER', null]);
});

test('word predictions reject fewer predictions than tokens', () => {
  assert.throws(
    () => wordPredictions([null, 0, null], ['O'], 1),
    /1 token predictions for 3 tokens/,
  );
});
