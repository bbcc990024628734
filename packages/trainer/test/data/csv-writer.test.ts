import assert from 'node:assert/strict';
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { CSV_HEADER, formatCsvRecord } from '../../src/data/csv-writer.js';
import { readSentences, writeSentences } from '../../src/data/dataset.js';
import { skipWithoutTurku, TURKU_DIR } from '../../../../test/support/python.js';

test('quotes a cell only when it holds a comma or a double quote, doubling the quotes', () => {
  assert.equal(CSV_HEADER, 'tokens,tags\n');
  assert.equal(formatCsvRecord({ tokens: ['.'], tags: ['O'] }), "['.'],['O']\n");
  assert.equal(
    formatCsvRecord({ tokens: ['a', "b'c"], tags: ['O', 'O'] }),
    `"['a', ""b'c""]","['O', 'O']"\n`,
  );
  assert.equal(formatCsvRecord({ tokens: ['"'], tags: ['O'] }), `"['""']",['O']\n`);
});

test(
  'converting the Turku CoNLL files reproduces the pandas-written train/val/test.csv byte for byte',
  { skip: skipWithoutTurku() },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'csv-writer-'));
    try {
      for (const [tsv, csv] of [
        ['train.tsv', 'train.csv'],
        ['dev.tsv', 'val.csv'],
        ['test.tsv', 'test.csv'],
      ] as const) {
        const out = join(dir, csv);
        await writeSentences(out, readSentences(join(TURKU_DIR, tsv)));
        const expected = readFileSync(join(TURKU_DIR, csv));
        const actual = readFileSync(out);
        assert.ok(actual.equals(expected), `${csv}: ${actual.length} bytes vs ${expected.length}`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
