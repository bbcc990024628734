import assert from 'node:assert/strict';
import { test } from 'node:test';
import { predictedText } from '../../src/predict/entity-lines.js';
import { splitTextWords, wordSpanText } from '../../src/predict/text-words.js';

test('splitTextWords keeps case and accents, isolates punctuation and records offsets', () => {
  const line = 'Matti Meikäläinen asuu Helsingissä, eikö?';
  const split = splitTextWords(line);
  assert.deepEqual(split.words, ['Matti', 'Meikäläinen', 'asuu', 'Helsingissä', ',', 'eikö', '?']);
  split.words.forEach((word, i) => assert.equal(line.slice(split.starts[i], split.ends[i]), word));
});

test('splitTextWords drops control characters and splits on any whitespace', () => {
  const split = splitTextWords('Nokia\tOyj\u0007  on\u00a0yritys');
  assert.deepEqual(split.words, ['Nokia', 'Oyj', 'on', 'yritys']);
});

test('wordSpanText cuts entity text from the line, spaces as written', () => {
  const line = 'Asun  Uudessa   Kaupungissa.';
  const split = splitTextWords(line);
  assert.equal(wordSpanText(line, split, 1, 3), 'Uudessa   Kaupungissa');
});

test('predictedText gives entities with word indices [start, end) and their text', () => {
  const line = 'Matti Meikäläinen työskentelee Nokia Oyj:ssä.';
  const split = splitTextWords(line);
  assert.deepEqual(split.words, [
    'Matti',
    'Meikäläinen',
    'työskentelee',
    'Nokia',
    'Oyj',
    ':',
    'ssä',
    '.',
  ]);
  const tags = ['B-PER', 'I-PER', 'O', 'B-ORG', 'I-ORG', 'O', 'O', 'O'];
  assert.deepEqual(predictedText(line, split, tags), {
    text: line,
    tokens: split.words,
    tags,
    entities: [
      { type: 'PER', start: 0, end: 2, text: 'Matti Meikäläinen' },
      { type: 'ORG', start: 3, end: 5, text: 'Nokia Oyj' },
    ],
  });
});

test('predictedText chunks a stray I- tag as an entity start, as seqeval does', () => {
  const split = splitTextWords('a b c');
  const out = predictedText('a b c', split, ['I-LOC', 'I-LOC', 'B-LOC']);
  assert.deepEqual(
    out.entities.map((e) => [e.type, e.start, e.end, e.text]),
    [
      ['LOC', 0, 2, 'a b'],
      ['LOC', 2, 3, 'c'],
    ],
  );
});
