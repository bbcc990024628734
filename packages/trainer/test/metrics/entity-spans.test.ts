import assert from 'node:assert/strict';
import { test } from 'node:test';
import { extractEntities, InvalidTagError } from '../../src/metrics/entity-spans.js';

test('default mode finds the chunks of seqeval get_entities (end exclusive here)', () => {
  assert.deepEqual(extractEntities([['B-PER', 'I-PER', 'O', 'B-LOC']], 'default'), [
    { type: 'PER', sentence: 0, start: 0, end: 2 },
    { type: 'LOC', sentence: 0, start: 3, end: 4 },
  ]);
});

test('default mode opens a chunk at an I- after O or after a type change', () => {
  assert.deepEqual(extractEntities([['O', 'I-PER', 'I-PER', 'I-LOC']], 'default'), [
    { type: 'PER', sentence: 0, start: 1, end: 3 },
    { type: 'LOC', sentence: 0, start: 3, end: 4 },
  ]);
});

test('strict IOB2 mode ignores a lone I- and ends a chunk at a type change', () => {
  assert.deepEqual(extractEntities([['O', 'I-PER', 'B-PER', 'I-LOC']], 'strict'), [
    { type: 'PER', sentence: 0, start: 2, end: 3 },
  ]);
});

test('default mode reads E- and S- as IOBES and splits the type after the first dash', () => {
  assert.deepEqual(extractEntities([['S-PER', 'B-LOC', 'E-LOC', 'B-A-B', 'B--X-']], 'default'), [
    { type: 'PER', sentence: 0, start: 0, end: 1 },
    { type: 'LOC', sentence: 0, start: 1, end: 3 },
    { type: 'A-B', sentence: 0, start: 3, end: 4 },
    { type: '-X-', sentence: 0, start: 4, end: 5 },
  ]);
});

test('strict mode strips dashes around the type as seqeval.scheme.Token does', () => {
  assert.deepEqual(extractEntities([['B--X-', 'I-X', 'B-A-B']], 'strict'), [
    { type: 'X', sentence: 0, start: 0, end: 2 },
    { type: 'A-B', sentence: 0, start: 2, end: 3 },
  ]);
});

test('chunks never run across sentences', () => {
  assert.deepEqual(extractEntities([['B-PER', 'I-PER'], ['I-PER']], 'default'), [
    { type: 'PER', sentence: 0, start: 0, end: 2 },
    { type: 'PER', sentence: 1, start: 0, end: 1 },
  ]);
});

test('default mode keeps seqeval stale begin offset for odd prefixes such as .X', () => {
  // seqeval: get_entities([['B-Y', 'O'], ['O-X', '.X', 'I-X']]) == [('Y', 0, 0), ('X', 0, 5)]
  assert.deepEqual(
    extractEntities(
      [
        ['B-Y', 'O'],
        ['O-X', '.X', 'I-X'],
      ],
      'default',
    ),
    [
      { type: 'Y', sentence: 0, start: 0, end: 1 },
      { type: 'X', sentence: 1, start: -3, end: 3 },
    ],
  );
});

test('strict mode rejects E- and unknown prefixes naming sentence and token', () => {
  assert.throws(
    () => extractEntities([['O'], ['B-PER', 'E-PER']], 'strict'),
    (e: unknown) =>
      e instanceof InvalidTagError &&
      e.message ===
        'tag "E-PER" (sentence 2, token 2) is not valid in strict IOB2 mode (allowed prefixes: B-, I-, O)',
  );
  assert.throws(
    () => extractEntities([['X-PER']], 'strict'),
    /tag "X-PER" \(sentence 1, token 1\) has no IOB prefix/,
  );
});

test('an empty tag is an error in both modes', () => {
  assert.throws(() => extractEntities([['O', '']], 'default'), /sentence 1, token 2\) is empty/);
  assert.throws(() => extractEntities([['']], 'strict'), InvalidTagError);
});
