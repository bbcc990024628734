/**
 * Exhaustive per-character parity of our BERT normalizer and pre-tokenizer with the Rust
 * `tokenizers` ones (probed by tools/reference/bert_unicode_probe.py) over every Unicode scalar
 * value: text cleaning, CJK padding, NFD, per-character lowercasing, accent stripping, the full
 * uncased normalizer, and punctuation splitting. Tolerance: none (exact strings).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { normalizeBertText, preTokenizeBert } from '../../src/tokenizer/basic-tokenizer.js';
import {
  decomposeNfd,
  isNonspacingMark,
  lowercaseChar,
} from '../../src/tokenizer/unicode-classes.js';
import { runReference, skipWithoutPython } from '../../../../test/support/python.js';

type Row = [number, string, string, string, string, string, boolean];
const COLUMNS = ['clean', 'nfd', 'lower', 'strip', 'uncased', 'punct'] as const;

function ours(ch: string): [string, string, string, string, string, boolean] {
  const cased = { doLowerCase: false, stripAccents: false, tokenizeChineseChars: true };
  const uncased = { doLowerCase: true, stripAccents: null, tokenizeChineseChars: true };
  let strip = '';
  for (const c of decomposeNfd(ch)) if (!isNonspacingMark(c.codePointAt(0) ?? 0)) strip += c;
  return [
    normalizeBertText(ch, cased),
    decomposeNfd(ch),
    lowercaseChar(ch),
    strip,
    normalizeBertText(ch, uncased),
    preTokenizeBert(`x${ch}x`).length === 3,
  ];
}

test(
  'every Unicode character is normalized and split exactly as by Rust tokenizers',
  { skip: skipWithoutPython() },
  () => {
    const started = Date.now();
    const probe = JSON.parse(runReference('bert_unicode_probe.py', [])) as { rows: Row[] };
    const byCp = new Map(probe.rows.map((row) => [row[0], row]));
    const mismatches: string[] = [];
    let checked = 0;
    for (let cp = 0; cp < 0x110000; cp++) {
      if (cp >= 0xd800 && cp <= 0xdfff) continue;
      const ch = String.fromCodePoint(cp);
      const theirs = byCp.get(cp)?.slice(1) ?? [ch, ch, ch, ch, ch, false];
      const mine = ours(ch);
      checked++;
      mine.forEach((value, i) => {
        if (value !== theirs[i])
          mismatches.push(
            `U+${cp.toString(16)} ${COLUMNS[i]}: ours ${JSON.stringify(value)} rust ${JSON.stringify(theirs[i])}`,
          );
      });
    }
    process.stderr.write(
      `unicode parity: ${checked} code points, ${mismatches.length} mismatches, ${Date.now() - started} ms\n`,
    );
    assert.equal(checked, 0x110000 - 0x800);
    assert.deepEqual(mismatches.slice(0, 20), []);
  },
);

test('the normalizer strips accents before lowercasing and lowercases per character', () => {
  const uncased = { doLowerCase: true, stripAccents: null, tokenizeChineseChars: true };
  assert.equal(normalizeBertText('ΣΑΣ', uncased), 'σασ');
  assert.equal(normalizeBertText('Crème Brûlée', uncased), 'creme brulee');
  assert.equal(normalizeBertText('Åbo', { ...uncased, stripAccents: false }), 'åbo');
  assert.equal(
    normalizeBertText('Åbo', { ...uncased, doLowerCase: false, stripAccents: true }),
    'Abo',
  );
});

test('text cleaning drops controls, maps whitespace, and pads CJK ideographs', () => {
  const cased = { doLowerCase: false, stripAccents: false, tokenizeChineseChars: true };
  assert.equal(normalizeBertText('a\u0000b\u200bc\ufffd', cased), 'abc');
  assert.equal(normalizeBertText('a\tb\u2028c', cased), 'a b c');
  assert.equal(normalizeBertText('x中y', cased), 'x 中 y');
  assert.equal(normalizeBertText('x中y', { ...cased, tokenizeChineseChars: false }), 'x中y');
  // Rust's CJK table skips U+2B820..U+2B91F; so do we.
  assert.equal(normalizeBertText('\u{2b820}', cased), '\u{2b820}');
});

test('the pre-tokenizer isolates each punctuation character', () => {
  assert.deepEqual(preTokenizeBert('a,b  ...c$d «e»'), [
    'a',
    ',',
    'b',
    '.',
    '.',
    '.',
    'c',
    '$',
    'd',
    '«',
    'e',
    '»',
  ]);
  assert.deepEqual(preTokenizeBert('   '), []);
});
