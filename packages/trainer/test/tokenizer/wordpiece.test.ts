import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WordPiece } from '../../src/tokenizer/wordpiece.js';

const VOCAB = ['[UNK]', 'un', '##aff', '##able', 'u', '##n', '##a', 'a', '😀', '##😀'];
const wp = new WordPiece(new Map(VOCAB.map((t, i) => [t, i])));
const tokens = (piece: string) => wp.tokenize(piece).map((id) => VOCAB[id]);

test('WordPiece takes the longest vocabulary match first, then ## continuations', () => {
  assert.deepEqual(tokens('unaffable'), ['un', '##aff', '##able']);
  assert.deepEqual(tokens('una'), ['un', '##a']);
  assert.deepEqual(tokens('u'), ['u']);
});

test('a piece with any unmatched position becomes a single [UNK]', () => {
  assert.deepEqual(tokens('unx'), ['[UNK]']);
  assert.deepEqual(tokens('xun'), ['[UNK]']);
});

test('the 100-character limit counts code points, not UTF-16 units', () => {
  assert.deepEqual(tokens('a'.repeat(100)), ['a', ...Array(99).fill('##a')]);
  assert.deepEqual(tokens('a'.repeat(101)), ['[UNK]']);
  // 60 emoji are 120 UTF-16 units but 60 characters: still split, not [UNK].
  assert.deepEqual(tokens('😀'.repeat(60)), ['😀', ...Array(59).fill('##😀')]);
  assert.deepEqual(tokens('😀'.repeat(101)), ['[UNK]']);
});

test('a vocabulary without the unknown token is rejected', () => {
  assert.throws(() => new WordPiece(new Map([['a', 0]])), /\[UNK\] is not in the vocabulary/);
});
