import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { readConllSentences } from '../../src/data/conll-reader.js';
import { DataError } from '../../src/data/data-error.js';
import type { Sentence } from '../../src/data/sentence.js';

const dir = mkdtempSync(join(tmpdir(), 'conll-reader-'));

function file(name: string, content: string | Uint8Array): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

async function readAll(path: string, errors?: DataError[]): Promise<Sentence[]> {
  const out: Sentence[] = [];
  const onError = errors ? (e: DataError) => errors.push(e) : undefined;
  for await (const s of readConllSentences(path, { onError })) out.push(s);
  return out;
}

async function errorOf(path: string): Promise<DataError> {
  try {
    await readAll(path);
  } catch (error) {
    assert.ok(error instanceof DataError, `expected a DataError, got ${String(error)}`);
    return error;
  }
  assert.fail(`${path} was read without error`);
}

test('reads token/tag lines, splits sentences at blank lines and skips -DOCSTART-', async () => {
  const path = file(
    'basic.tsv',
    '-DOCSTART-\tO\n\nAnna\tB-PER\nasuu\tO\n\n\n-DOCSTART- -X- O O\nTurussa\tB-LOC\n.\tO',
  );
  const sentences = await readAll(path);
  assert.deepEqual(
    sentences.map((s) => [s.tokens, s.tags, s.source.line]),
    [
      [['Anna', 'asuu'], ['B-PER', 'O'], 3],
      [['Turussa', '.'], ['B-LOC', 'O'], 8],
    ],
  );
});

test('takes the first column as token and the last as tag; spaces separate when there is no tab', async () => {
  const path = file(
    'cols.txt',
    'EU NNP B-NP B-ORG\nrejects  VBZ B-VP O\r\n\nNew York\tNNP\tB-LOC\n',
  );
  const sentences = await readAll(path);
  assert.deepEqual(
    sentences.map((s) => [s.tokens, s.tags]),
    [
      [
        ['EU', 'rejects'],
        ['B-ORG', 'O'],
      ],
      [['New York'], ['B-LOC']],
    ],
  );
});

test('a line without a tag names file and line', async () => {
  const e = await errorOf(file('one.tsv', 'a\tO\n\nb\tO\nlonely\n'));
  assert.match(e.message, /one\.tsv:4: expected a token and a tag, found one column "lonely"/);
});

test('a tag not in IOB form names file, line and tag', async () => {
  const e = await errorOf(file('iob.tsv', 'a\tO\nb\tX-PER\n'));
  assert.match(e.message, /iob\.tsv:2: tag "X-PER" is not an IOB tag/);
});

test('an empty token names file and line', async () => {
  const e = await errorOf(file('tok.tsv', 'a\tO\n\tO\n'));
  assert.match(e.message, /tok\.tsv:2: token is empty/);
});

test('an empty file and invalid UTF-8 name the file (and line)', async () => {
  assert.match((await errorOf(file('empty.tsv', ''))).message, /empty\.tsv: empty file/);
  const bad = Buffer.concat([Buffer.from('a\tO\n\nb'), Buffer.from([0xff]), Buffer.from('\tO\n')]);
  assert.match(
    (await errorOf(file('bad.tsv', bad))).message,
    /bad\.tsv:3: invalid UTF-8 \(byte 0xff\)/,
  );
});

test('collect mode reports one error per bad sentence and keeps the good sentences', async () => {
  const errors: DataError[] = [];
  const path = file('many.tsv', 'a\tO\nb\tQ\nc\tZ\n\nd\tO\n\ne\n\nf\tB-X\n');
  const sentences = await readAll(path, errors);
  assert.deepEqual(
    sentences.map((s) => s.tokens),
    [['d'], ['f']],
  );
  assert.deepEqual(
    errors.map((e) => e.line),
    [2, 7],
  );
});
