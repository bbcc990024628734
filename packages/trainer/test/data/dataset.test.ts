import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { DataError } from '../../src/data/data-error.js';
import {
  formatOf,
  readDataset,
  readSentences,
  summarizeFile,
  writeSentences,
} from '../../src/data/dataset.js';
import type { Sentence } from '../../src/data/sentence.js';

const dir = mkdtempSync(join(tmpdir(), 'dataset-'));

test('picks the reader and writer by extension and rejects unknown extensions naming the file', () => {
  assert.equal(formatOf('a/train.csv'), 'csv');
  assert.equal(formatOf('a/train.TSV'), 'conll');
  assert.equal(formatOf('a/x.conll'), 'conll');
  assert.equal(formatOf('a/x.txt'), 'conll');
  assert.throws(() => formatOf('a/x.json'), /a\/x\.json: unknown data file extension "\.json"/);
});

test('CSV -> CoNLL -> CSV round-trips tokens with quotes, spaces and non-ASCII', async () => {
  const source = { file: 'mem', line: 1 };
  const sentences: Sentence[] = [
    {
      tokens: ["That's", '5\'11"', 'Åbo Akademi', '日本'],
      tags: ['O', 'O', 'B-ORG', 'B-LOC'],
      source,
    },
    { tokens: ['\\'], tags: ['I-X'], source },
  ];
  const csv = join(dir, 'rt.csv');
  const conll = join(dir, 'rt.tsv');
  assert.equal(await writeSentences(csv, sentences), 2);
  await writeSentences(conll, readSentences(csv));
  const back: Sentence[] = [];
  for await (const s of readSentences(conll)) back.push(s);
  assert.deepEqual(
    back.map((s) => [s.tokens, s.tags]),
    sentences.map((s) => [s.tokens, s.tags]),
  );
});

test('a failing reader leaves no output file and no temp file behind', async () => {
  const bad = join(dir, 'bad.tsv');
  writeFileSync(bad, 'a\tO\n\nb\tQ-X\n');
  const out = join(dir, 'out', 'never.csv');
  await assert.rejects(writeSentences(out, readSentences(bad)), /bad\.tsv:3: tag "Q-X"/);
  assert.equal(existsSync(out), false);
  assert.deepEqual(readdirSync(join(dir, 'out')), []);
});

test('readDataset gives sentences and a summary, or in collect mode every error', async () => {
  const path = join(dir, 'mixed.csv');
  writeFileSync(
    path,
    "tokens,tags\n\"['A', 'b']\",\"['B-PER', 'I-PER']\"\n['c'],['I-LOC']\n\"['d', 'e']\",['O']\n['f'],['Z']\n",
  );
  await assert.rejects(readDataset(path), /mixed\.csv:4: record 3/);
  const loaded = await readDataset(path, { collectErrors: true });
  assert.deepEqual(
    loaded.errors.map((e) => e.message.replace(dir, '')),
    [
      '/mixed.csv:4: record 3: tokens and tags differ in length (2 tokens, 1 tags)',
      '/mixed.csv:5: record 4: tag 1 "Z" is not an IOB tag (O, B-TYPE or I-TYPE)',
    ],
  );
  assert.deepEqual(loaded.summary, {
    sentences: 2,
    tokens: 3,
    tags: { 'B-PER': 1, 'I-LOC': 1, 'I-PER': 1 },
    entities: { LOC: 1, PER: 1 },
    invalidIobSequences: 1,
  });
});

test('summarizeFile streams a file and names a missing one', async () => {
  const path = join(dir, 'sum.tsv');
  writeFileSync(path, 'a\tO\nb\tB-X\nc\tI-X\n\nd\tI-Y\ne\tI-X\n');
  assert.deepEqual(await summarizeFile(path), {
    sentences: 2,
    tokens: 5,
    tags: { O: 1, 'B-X': 1, 'I-X': 2, 'I-Y': 1 },
    entities: { X: 2, Y: 1 },
    invalidIobSequences: 2,
  });
  await assert.rejects(summarizeFile(join(dir, 'nope.tsv')), (e: unknown) => {
    return e instanceof DataError && /nope\.tsv: file not found/.test(e.message);
  });
  assert.ok(readFileSync(path).length > 0);
});
