import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { BertTokenizer } from '../../src/tokenizer/bert-tokenizer.js';
import {
  loadTokenizerFiles,
  parseVocab,
  saveTokenizerFiles,
} from '../../src/tokenizer/tokenizer-files.js';

const root = mkdtempSync(join(tmpdir(), 'tok-files-'));
after(() => rmSync(root, { recursive: true, force: true }));
const SPECIALS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];

/** A fresh model directory holding `files`. */
function makeDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(root, 'model-'));
  for (const [file, text] of Object.entries(files)) writeFileSync(join(dir, file), text);
  return dir;
}

test('vocab.txt lines are tokens in id order; only the newline is stripped', () => {
  assert.deepEqual(parseVocab('a\nb\r\n c\n'), ['a', 'b\r', ' c']);
  assert.deepEqual(parseVocab('a\nb'), ['a', 'b']);
});

test('settings come from tokenizer_config.json, specials from special_tokens_map.json', () => {
  const dir = makeDir({
    'vocab.txt': [...SPECIALS, '<unk>', 'talo'].join('\n') + '\n',
    'tokenizer_config.json': JSON.stringify({
      do_lower_case: false,
      strip_accents: true,
      tokenize_chinese_chars: false,
      unk_token: '[UNK]',
      model_max_length: 1e30,
      name_or_path: 'x',
    }),
    'special_tokens_map.json': JSON.stringify({ unk_token: { content: '<unk>' } }),
  });
  const files = loadTokenizerFiles(dir);
  assert.equal(files.doLowerCase, false);
  assert.equal(files.stripAccents, true);
  assert.equal(files.tokenizeChineseChars, false);
  assert.equal(files.modelMaxLength, null);
  assert.equal(files.specialTokens.unk_token, '<unk>');
  assert.deepEqual(files.extraConfig, { name_or_path: 'x' });
  const tokenizer = new BertTokenizer(files);
  assert.equal(tokenizer.unkId, 5);
  assert.deepEqual(tokenizer.encodeWords(['talo', 'Talo']).inputIds, [2, 6, 5, 3]);
});

test('a directory without tokenizer_config.json gets BERT defaults (lowercase, accents stripped)', () => {
  const dir = makeDir({ 'vocab.txt': [...SPECIALS, 'aa', '##b'].join('\n') });
  const tokenizer = BertTokenizer.fromDirectory(dir);
  assert.equal(tokenizer.files.doLowerCase, true);
  assert.deepEqual(tokenizer.idsToTokens(tokenizer.encodeWords(['ÅÅB']).inputIds), [
    '[CLS]',
    'aa',
    '##b',
    '[SEP]',
  ]);
});

test('saving writes the three files back and reloads to the same tokenizer', async () => {
  const dir = makeDir({
    'vocab.txt': [...SPECIALS, 'x', 'x'].join('\n') + '\n',
    'tokenizer_config.json': JSON.stringify({ do_lower_case: false, never_split: ['a.b'] }),
  });
  const out = mkdtempSync(join(root, 'saved-'));
  await saveTokenizerFiles(BertTokenizer.fromDirectory(dir), out);
  // Duplicate lines survive, so ids stay put.
  assert.equal(
    readFileSync(join(out, 'vocab.txt'), 'utf8'),
    readFileSync(join(dir, 'vocab.txt'), 'utf8'),
  );
  const config = JSON.parse(readFileSync(join(out, 'tokenizer_config.json'), 'utf8'));
  assert.equal(config.do_lower_case, false);
  assert.equal(config.tokenizer_class, 'BertTokenizer');
  assert.deepEqual(config.never_split, ['a.b']);
  const map = JSON.parse(readFileSync(join(out, 'special_tokens_map.json'), 'utf8'));
  assert.equal(map.cls_token, '[CLS]');
  const reloaded = BertTokenizer.fromDirectory(out);
  assert.deepEqual(reloaded.files, BertTokenizer.fromDirectory(dir).files);
  // The later duplicate wins, as in HF's load_vocab.
  assert.deepEqual(reloaded.encodeWords(['x']).inputIds, [2, 6, 3]);
});

test('special and added tokens inside a word are matched verbatim before normalization', () => {
  const dir = makeDir({
    'vocab.txt': [...SPECIALS, 'a', 'b', '[', ']', 'sep'].join('\n'),
    'tokenizer_config.json': JSON.stringify({
      added_tokens_decoder: { '10': { content: '<ent>', special: true } },
    }),
  });
  const t = BertTokenizer.fromDirectory(dir);
  assert.deepEqual(t.idsToTokens(t.encodeWords(['a[SEP]b', '[sep]', 'b<ent>']).inputIds), [
    '[CLS]',
    'a',
    '[SEP]',
    'b',
    '[',
    'sep',
    ']',
    'b',
    '<ent>',
    '[SEP]',
  ]);
  assert.equal(t.vocabSize, 11);
});

test('bad tokenizer files are errors naming the file', () => {
  assert.throws(
    () => BertTokenizer.fromDirectory(makeDir({})),
    /neither vocab\.txt nor tokenizer\.json/,
  );
  assert.throws(
    () => BertTokenizer.fromDirectory(makeDir({ 'vocab.txt': 'a\nb\n' })),
    /vocab\.txt: the default unk_token "\[UNK\]" is not in the vocabulary/,
  );
  const badJson = makeDir({ 'vocab.txt': SPECIALS.join('\n'), 'tokenizer_config.json': '{oops' });
  assert.throws(
    () => loadTokenizerFiles(badJson),
    (e: Error) =>
      e.message.startsWith(join(badJson, 'tokenizer_config.json')) &&
      /invalid JSON/.test(e.message),
  );
  const badFlag = makeDir({
    'vocab.txt': SPECIALS.join('\n'),
    'tokenizer_config.json': JSON.stringify({ do_lower_case: 'yes' }),
  });
  assert.throws(() => loadTokenizerFiles(badFlag), /"do_lower_case" must be true, false or null/);
  const badUtf8 = makeDir({});
  writeFileSync(join(badUtf8, 'vocab.txt'), Buffer.from([0x5b, 0xff, 0x0a]));
  assert.throws(() => loadTokenizerFiles(badUtf8), /vocab\.txt: cannot read as UTF-8/);
  const badModel = makeDir({
    'tokenizer.json': JSON.stringify({ model: { type: 'BPE', vocab: {} } }),
  });
  assert.throws(() => loadTokenizerFiles(badModel), /tokenizer\.json: not a WordPiece tokenizer/);
});
