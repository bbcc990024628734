import assert from 'node:assert/strict';
import { test } from 'node:test';
import { countInvalidIobSequences, entityType, isIobTag } from '../../src/data/iob.js';

test('only O, B-TYPE and I-TYPE are IOB tags', () => {
  for (const tag of ['O', 'B-PER', 'I-LOC', 'B-X-Y']) assert.ok(isIobTag(tag), tag);
  for (const tag of ['', 'o', 'B-', 'I', 'X-PER', 'S-PER', 'E-PER', 'B_PER', 'BPER'])
    assert.ok(!isIobTag(tag), tag);
  assert.equal(entityType('I-LOC'), 'LOC');
  assert.equal(entityType('O'), undefined);
});

test('an I- after O, at the start or after another type counts as an invalid sequence', () => {
  assert.equal(countInvalidIobSequences(['B-X', 'I-X', 'I-X']), 0);
  assert.equal(countInvalidIobSequences(['I-X', 'O', 'I-X', 'B-Y', 'I-X', 'I-Y']), 4);
});
