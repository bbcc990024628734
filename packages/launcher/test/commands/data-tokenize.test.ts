import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { REPO_ROOT } from '../../../../test/support/python.js';

const BIN = join(REPO_ROOT, 'packages', 'launcher', 'bin', 'ner-launch.mjs');
const dir = mkdtempSync(join(tmpdir(), 'data-tokenize-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const model = join(dir, 'model');
const input = join(dir, 'input.tsv');
mkdirSync(model);
writeFileSync(
  join(model, 'vocab.txt'),
  ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'hel', '##sinki', 'on', 'kaunis', '.'].join('\n'),
);
writeFileSync(join(model, 'tokenizer_config.json'), JSON.stringify({ do_lower_case: true }));
writeFileSync(input, 'Helsinki\tB-LOC\non\tO\nkaunis\tO\n.\tO\n\nOn\tO\n');

function run(...args: string[]) {
  return spawnSync(process.execPath, [BIN, 'data', 'tokenize', ...args], { encoding: 'utf8' });
}

test('data tokenize --json prints one JSON object per sentence with aligned labels', () => {
  const result = run('--model', model, '--input', input, '--json');
  assert.equal(result.status, 0, result.stderr);
  const lines = result.stdout
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.deepEqual(lines, [
    {
      input_ids: [2, 5, 6, 7, 8, 9, 3],
      word_ids: [null, 0, 0, 1, 2, 3, null],
      // Labels: O=0, B-LOC=1; I-LOC is not in the file's label set, so B-LOC stays B-LOC.
      labels: [-100, 1, 1, 0, 0, 0, -100],
    },
    { input_ids: [2, 7, 3], word_ids: [null, 0, null], labels: [-100, 0, -100] },
  ]);
  assert.match(
    result.stderr,
    /2 sentences, 5 words, 10 tokens; 0 sentences truncated \(max_len 512/,
  );
});

test('data tokenize reports truncation and honours --label_all_subtokens false and --labels', () => {
  const result = run(
    '--model',
    model,
    '--input',
    input,
    '--json',
    '--max_len',
    '4',
    '--label_all_subtokens',
    'false',
    '--labels',
    'O,B-LOC,I-LOC',
  );
  assert.equal(result.status, 0, result.stderr);
  const first = JSON.parse(result.stdout.split('\n')[0]);
  assert.deepEqual(first, {
    input_ids: [2, 5, 6, 3],
    word_ids: [null, 0, 0, null],
    labels: [-100, 1, -100, -100],
  });
  assert.match(result.stderr, /1 sentences truncated \(max_len 4, 3 words cut off\)/);
});

test('data tokenize without --json shows tokens, word ids and tag names', () => {
  const result = run(
    '--model',
    model,
    '--input',
    input,
    '--label_all_subtokens',
    'true',
    '--labels',
    'O,B-LOC,I-LOC',
  );
  assert.equal(result.status, 0, result.stderr);
  assert.match(
    result.stdout,
    /^# .*input\.tsv:1\n\[CLS\]\t2\t-\t-100\nhel\t5\t0\tB-LOC\n##sinki\t6\t0\tI-LOC\n/,
  );
});

test('data tokenize fails clearly on a missing vocab and a bad --max_len', () => {
  const noModel = run('--model', join(dir, 'nope'), '--input', input);
  assert.notEqual(noModel.status, 0);
  assert.match(noModel.stderr, /nope: neither vocab\.txt nor tokenizer\.json found/);
  const badLen = run('--model', model, '--input', input, '--max_len', '1');
  assert.notEqual(badLen.status, 0);
  assert.match(badLen.stderr, /--max_len must be an integer >= 2, got 1/);
});
