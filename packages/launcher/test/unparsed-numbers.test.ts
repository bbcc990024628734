import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Arguments } from 'yargs';
import { keepUnparsedNumbers } from '../src/unparsed-numbers.js';

test('a NaN that yargs made of a number flag becomes the text typed, in every spelling of the flag', () => {
  const argv = {
    _: [],
    $0: 'ner-launch',
    learning_rate: NaN,
    learningRate: NaN,
    'warmup-ratio': NaN,
    epochs: NaN,
    batch_size: 8,
    seed: NaN,
  } as Arguments;
  keepUnparsedNumbers([
    '--learning-rate',
    'fast',
    '--warmup_ratio=a lot',
    '--epochs',
    '1',
    '--epochs',
    'two',
    '--batch_size',
    '8',
  ])(argv);
  assert.equal(argv.learning_rate, 'fast');
  assert.equal(argv.learningRate, 'fast');
  assert.equal(argv['warmup-ratio'], 'a lot');
  assert.equal(argv.epochs, 'two', 'the last occurrence');
  assert.equal(argv.batch_size, 8, 'numbers stay numbers');
  assert.ok(Number.isNaN(argv.seed), 'a NaN without a flag behind it is left alone');
});
