import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BertTokenizer } from '../../src/tokenizer/bert-tokenizer.js';
import { SentenceEncoder } from '../../src/tokenizer/sentence-encoder.js';
import type { TokenizerFiles } from '../../src/tokenizer/tokenizer-files.js';

const files: TokenizerFiles = {
  vocabLines: ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'hel', '##sinki', 'on', 'kaunis'],
  doLowerCase: true,
  stripAccents: null,
  tokenizeChineseChars: true,
  neverSplit: null,
  modelMaxLength: null,
  specialTokens: {
    unk_token: '[UNK]',
    sep_token: '[SEP]',
    pad_token: '[PAD]',
    cls_token: '[CLS]',
    mask_token: '[MASK]',
  },
  addedTokens: new Map(),
  extraConfig: {},
};
const tokenizer = new BertTokenizer(files);
const LABELS = ['O', 'B-LOC', 'I-LOC'];
const sentence = (tokens: string[], tags: string[], line = 7) => ({
  tokens,
  tags,
  source: { file: 'data.csv', line },
});

test('a sentence becomes ids, word ids and aligned labels', () => {
  const encoder = new SentenceEncoder(tokenizer, LABELS, { labelAllSubtokens: true });
  const e = encoder.encode(sentence(['Helsinki', 'on', 'kaunis'], ['B-LOC', 'O', 'O']));
  assert.deepEqual(e.inputIds, [2, 5, 6, 7, 8, 3]);
  assert.deepEqual(e.wordIds, [null, 0, 0, 1, 2, null]);
  assert.deepEqual(e.labels, [-100, 1, 2, 0, 0, -100]);
  assert.equal(e.truncated, false);
});

test('truncated sentences, cut-off words and words without tokens are counted', () => {
  const encoder = new SentenceEncoder(tokenizer, LABELS, {
    maxLength: 4,
    labelAllSubtokens: false,
  });
  const e = encoder.encode(
    sentence(['\u200b', 'Helsinki', 'on', 'kaunis'], ['O', 'B-LOC', 'O', 'O']),
  );
  assert.deepEqual(e.inputIds, [2, 5, 6, 3]);
  assert.deepEqual(e.labels, [-100, 1, -100, -100]);
  encoder.encode(sentence(['on'], ['O']));
  assert.deepEqual(encoder.summary, {
    sentences: 2,
    words: 5,
    tokens: 7,
    truncatedSentences: 1,
    truncatedWords: 2,
    emptyWords: 1,
  });
  assert.match(
    encoder.describe(),
    /1 sentences truncated \(max_len 4, 2 words cut off\); 1 words gave no token/,
  );
});

test('a tag outside the label list is an error naming file and line', () => {
  const encoder = new SentenceEncoder(tokenizer, LABELS, { labelAllSubtokens: true });
  assert.throws(
    () => encoder.encode(sentence(['on'], ['B-PER'], 12)),
    /^UsageError: data\.csv:12: tag B-PER/,
  );
});
