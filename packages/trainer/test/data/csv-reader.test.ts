import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { readCsvSentences } from '../../src/data/csv-reader.js';
import { DataError } from '../../src/data/data-error.js';
import type { Sentence } from '../../src/data/sentence.js';

const dir = mkdtempSync(join(tmpdir(), 'csv-reader-'));

function file(name: string, content: string | Uint8Array): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

async function readAll(path: string): Promise<Sentence[]> {
  const out: Sentence[] = [];
  for await (const s of readCsvSentences(path)) out.push(s);
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

test('reads tokens and tags in any column order, ignoring other columns, with record and line', async () => {
  const path = file(
    'order.csv',
    'id,tags,tokens\n1,"[\'B-PER\', \'O\']","[\'Anna\', ""\'""]"\n\n2,[\'O\'],"[""That\'s""]"\n',
  );
  const sentences = await readAll(path);
  assert.deepEqual(
    sentences.map((s) => [s.tokens, s.tags, s.source]),
    [
      [['Anna', "'"], ['B-PER', 'O'], { file: path, line: 2, record: 1 }],
      [["That's"], ['O'], { file: path, line: 4, record: 2 }],
    ],
  );
});

test('strips a UTF-8 byte order mark and accepts CRLF line endings and JSON cells', async () => {
  const path = file('bom.csv', '\ufefftokens,tags\r\n"[""ä"", ""b""]","[""O"", ""B-LOC""]"\r\n');
  const [s] = await readAll(path);
  assert.deepEqual(s?.tokens, ['ä', 'b']);
  assert.deepEqual(s?.tags, ['O', 'B-LOC']);
});

test('a missing tokens or tags column names the file, line 1 and the header found', async () => {
  const e = await errorOf(file('nocol.csv', 'words,tags\n"[\'a\']","[\'O\']"\n'));
  assert.match(e.message, /nocol\.csv:1: header lacks column tokens \(found: words, tags\)/);
});

test('an unparsable literal names file, line, record, cell and column offset', async () => {
  const e = await errorOf(
    file('lit.csv', "tokens,tags\n\"['a']\",\"['O']\"\n\"['a' 'b']\",\"['O']\"\n"),
  );
  assert.match(
    e.message,
    /lit\.csv:3: record 2: tokens cell is not a list of strings: expected ',' or '\]' but found ''' at column 6/,
  );
  const t = await errorOf(file('lit2.csv', 'tokens,tags\n"[\'a\']",O\n'));
  assert.match(
    t.message,
    /lit2\.csv:2: record 1: tags cell is not a list of strings: expected '\['/,
  );
});

test('a tokens/tags length mismatch names file, line and record', async () => {
  const e = await errorOf(file('len.csv', "tokens,tags\n\"['a', 'b']\",\"['O']\"\n"));
  assert.match(
    e.message,
    /len\.csv:2: record 1: tokens and tags differ in length \(2 tokens, 1 tags\)/,
  );
});

test('an empty token names file, line, record and word', async () => {
  const e = await errorOf(file('empty-token.csv', "tokens,tags\n\"['a', '']\",\"['O', 'O']\"\n"));
  assert.match(e.message, /empty-token\.csv:2: record 1: token 2 is empty/);
});

test('a tag not in IOB form names file, line, record and the tag', async () => {
  for (const tag of ['X-PER', 'B-', 'S-PER', 'per', '']) {
    const e = await errorOf(
      file('iob.csv', `tokens,tags\n['a'],['O']\n"['a', 'b']","['O', '${tag}']"\n`),
    );
    assert.match(e.message, new RegExp(`iob\\.csv:3: record 2: tag 2 "${tag}" is not an IOB tag`));
  }
});

test('an empty file and a header-only file are told apart', async () => {
  const e = await errorOf(file('empty.csv', ''));
  assert.match(e.message, /empty\.csv: empty file/);
  assert.deepEqual(await readAll(file('header.csv', 'tokens,tags\n')), []);
});

test('invalid UTF-8 names the file and the line of the bad byte', async () => {
  const head = Buffer.from('tokens,tags\n"[\'a\']","[\'O\']"\n"[\'');
  const bad = Buffer.concat([head, Buffer.from([0xc3, 0x28]), Buffer.from('\']","[\'O\']"\n')]);
  const e = await errorOf(file('utf8.csv', bad));
  assert.match(e.message, /utf8\.csv:3: invalid UTF-8 \(byte 0xc3\)/);
  const truncated = Buffer.concat([Buffer.from('tokens,tags\n\n'), Buffer.from([0xe2, 0x82])]);
  assert.match(
    (await errorOf(file('utf8-end.csv', truncated))).message,
    /utf8-end\.csv:3: invalid UTF-8/,
  );
});

test('a CSV syntax error and a missing field name the file and line', async () => {
  const e = await errorOf(
    file('quote.csv', 'tokens,tags\n"[\'a\']","[\'O\']"\n"[\'a\']"x,"[\'O\']"\n'),
  );
  assert.match(e.message, /quote\.csv:3: CSV syntax error/);
  const f = await errorOf(file('short.csv', 'tokens,tags\n"[\'a\']"\n'));
  assert.match(f.message, /short\.csv:2: record 1: has 1 fields/);
  const g = await errorOf(join(dir, 'absent.csv'));
  assert.match(g.message, /absent\.csv: file not found/);
});

test('collect mode reports every bad record and keeps reading the good ones', async () => {
  const path = file(
    'many.csv',
    "tokens,tags\n['a'],['O']\n['a'],['Q']\n['b'],['O']\n\"['a', 'b']\",['O']\n['c'],['B-X']\n",
  );
  const errors: DataError[] = [];
  const tokens: string[] = [];
  for await (const s of readCsvSentences(path, { onError: (e) => errors.push(e) }))
    tokens.push(...s.tokens);
  assert.deepEqual(tokens, ['a', 'b', 'c']);
  assert.deepEqual(
    errors.map((e) => [e.line, e.record]),
    [
      [3, 2],
      [5, 4],
    ],
  );
});

test('reads a file larger than one stream chunk with multi-byte characters split across chunks', async () => {
  let content = 'tokens,tags\n';
  for (let i = 0; i < 3000; i++) content += `"['ä€😀${i}', 'x']","['B-A', 'I-A']"\n`;
  const sentences = await readAll(file('big.csv', content));
  assert.equal(sentences.length, 3000);
  assert.deepEqual(sentences[2999]?.tokens, ['ä€😀2999', 'x']);
  assert.equal(sentences[2999]?.source.line, 3001);
});
