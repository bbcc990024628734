import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { BertTokenizer } from '../../src/tokenizer/bert-tokenizer.js';
import { wordWindows } from '../../src/predict/word-windows.js';
import { makeTinyCheckpoint } from '../../../../test/support/tiny-checkpoint.js';

let work: string;
let tokenizer: BertTokenizer;
before(async () => {
  work = mkdtempSync(join(tmpdir(), 'predict-windows-'));
  tokenizer = BertTokenizer.fromDirectory(await makeTinyCheckpoint(join(work, 'model')));
});
after(() => rmSync(work, { recursive: true, force: true }));

describe('wordWindows', () => {
  test('a sentence that fits is one window encoded exactly as training encodes it', () => {
    const words = ['Matti', 'asuu', 'Helsingissä', '.'];
    const { windows, summary } = wordWindows(tokenizer, [words], 32);
    assert.equal(windows.length, 1);
    const expected = tokenizer.encodeWords(words, { maxLength: 32 });
    assert.deepEqual(windows[0]!.inputIds, expected.inputIds);
    assert.deepEqual(windows[0]!.wordIds, expected.wordIds);
    assert.equal(summary.splitSentences, 0);
  });

  test('a sentence longer than max_len is cut at word boundaries into windows that cover every word', () => {
    const words = ['Matti', 'asuu', 'Helsingissä', 'ja', 'Liisa', 'asuu', 'Turussa', '.'];
    const maxLength = 8;
    const { windows, summary } = wordWindows(tokenizer, [words], maxLength);
    assert.ok(windows.length > 1, 'split into several windows');
    assert.equal(summary.splitSentences, 1);
    const covered: number[] = [];
    for (const w of windows) {
      assert.ok(w.inputIds.length <= maxLength);
      assert.equal(w.inputIds[0], tokenizer.clsId);
      assert.equal(w.inputIds.at(-1), tokenizer.sepId);
      for (const id of w.wordIds) if (id !== null && covered.at(-1) !== id) covered.push(id);
    }
    assert.deepEqual(
      covered,
      words.map((_, i) => i),
      'each word once, in order',
    );
    // Each word's pieces sit together in one window, as when encoded alone.
    for (const w of windows) {
      const pieces = new Map<number, number[]>();
      w.wordIds.forEach(
        (id, t) => id !== null && pieces.set(id, [...(pieces.get(id) ?? []), w.inputIds[t]!]),
      );
      for (const [id, ids] of pieces) assert.deepEqual(ids, tokenizer.encodeWord(words[id]!));
    }
  });

  test('a word with more pieces than fit is kept by its first pieces, and counted', () => {
    const { windows, summary } = wordWindows(tokenizer, [['xyzxyzxyz', 'asuu']], 5);
    assert.equal(summary.cutWords, 1);
    assert.equal(windows[0]!.inputIds.length, 5);
    assert.deepEqual(windows[0]!.wordIds, [null, 0, 0, 0, null]);
    assert.deepEqual(windows[1]!.wordIds, [null, 1, null]);
  });

  test('words that give no token are counted, and an empty sentence still gets a window', () => {
    const { windows, summary } = wordWindows(tokenizer, [['\u200b', 'asuu'], []], 16);
    assert.equal(summary.emptyWords, 1);
    assert.deepEqual(
      windows.map((w) => [w.sentence, w.wordIds]),
      [
        [0, [null, 1, null]],
        [1, [null, null]],
      ],
    );
  });

  test('max_len below 3 is refused', () => {
    assert.throws(() => wordWindows(tokenizer, [['a']], 2), /max_len must be an integer >= 3/);
  });
});
