import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { readSplits } from '../../src/data/splits.js';
import { skipWithoutTurku, TURKU_DIR } from '../../../../test/support/python.js';

const root = mkdtempSync(join(tmpdir(), 'splits-'));

function dataDir(name: string, files: Record<string, string>): string {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  for (const [file, content] of Object.entries(files)) writeFileSync(join(dir, file), content);
  return dir;
}

const header = 'tokens,tags\n';

test(
  'reads the Turku splits with labels O first then sorted',
  { skip: skipWithoutTurku() },
  async () => {
    const splits = await readSplits(TURKU_DIR);
    assert.deepEqual(
      [splits.train.length, splits.val.length, splits.test.length],
      [12217, 1364, 1555],
    );
    assert.deepEqual(splits.labels, [
      'O',
      'B-DATE',
      'B-EVENT',
      'B-LOC',
      'B-ORG',
      'B-PER',
      'B-PRO',
      'I-DATE',
      'I-EVENT',
      'I-LOC',
      'I-ORG',
      'I-PER',
      'I-PRO',
    ]);
    assert.equal(splits.summaries.train.tokens, 162742);
    assert.equal(splits.errors.length, 0);
  },
);

test('missing split files are listed together with what a data directory holds', async () => {
  const dir = dataDir('missing', { 'val.csv': header });
  await assert.rejects(
    readSplits(dir),
    /missing train\.csv, test\.csv \(a data directory holds train\.csv, val\.csv and test\.csv/,
  );
});

test('a val or test tag outside the training labels names tag, file and record', async () => {
  const dir = dataDir('unknown', {
    'train.csv': `${header}"['a', 'b']","['B-PER', 'O']"\n`,
    'val.csv': `${header}['a'],['O']\n['a'],['B-LOC']\n`,
    'test.csv': `${header}['a'],['I-PER']\n`,
  });
  await assert.rejects(
    readSplits(dir),
    /val\.csv:3: record 2: tag "B-LOC" \(word 1\) is not in the label set/,
  );
});

test('collect mode lists every error of every split, and --labels is checked on train too', async () => {
  const dir = dataDir('all', {
    'train.csv': `${header}"['a', 'b']","['B-PER', 'X']"\n['a'],['B-ORG']\n`,
    'val.csv': `${header}['a'],['B-LOC']\n`,
    'test.csv': header,
  });
  const found = await readSplits(dir, { collectErrors: true });
  assert.deepEqual(
    found.errors.map((e) => e.message.replace(dir, '')),
    [
      '/train.csv:2: record 1: tag 2 "X" is not an IOB tag (O, B-TYPE or I-TYPE)',
      '/test.csv: holds no sentences',
      `/val.csv:2: record 1: tag "B-LOC" (word 1) is not in the label set (labels from ${dir}/train.csv)`,
    ],
  );
  const given = await readSplits(dir, { collectErrors: true, labels: ['O', 'B-PER'] });
  assert.ok(
    given.errors.some((e) => /train\.csv:3: record 2: tag "B-ORG" .*\(--labels\)/.test(e.message)),
  );
  await assert.rejects(readSplits(dir, { labels: ['B-PER'] }), /--labels: must include O/);
});
