import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Predictor, readDataset } from '@ner-launch/trainer';
import { REPO_ROOT } from '../../../../test/support/python.js';
import { makeTinyCheckpoint } from '../../../../test/support/tiny-checkpoint.js';

const BIN = join(REPO_ROOT, 'packages/launcher/bin/ner-launch.mjs');
const SENTENCES = [
  ['Matti', 'Meikäläinen', 'asuu', 'Helsingissä', '.'],
  ['Nokia', 'Oyj', 'on', 'yritys'],
  ['Liisa'],
];

let work: string;
let modelDir: string;
before(async () => {
  work = mkdtempSync(join(tmpdir(), 'predict-command-'));
  modelDir = await makeTinyCheckpoint(join(work, 'model'));
});
after(() => rmSync(work, { recursive: true, force: true }));

function cli(args: string[]) {
  return spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 120_000 });
}

test('ner-launch predict writes the model predictions for a CSV file to --output, same format', async () => {
  const input = join(work, 'in.csv');
  writeFileSync(
    input,
    `tokens,tags\n${SENTENCES.map(
      (w) =>
        `"${JSON.stringify(w).replaceAll('"', "'").replaceAll(',', ', ')}","${JSON.stringify(
          w.map(() => 'O'),
        )
          .replaceAll('"', "'")
          .replaceAll(',', ', ')}"`,
    ).join('\n')}\n`,
  );
  const output = join(work, 'pred.csv');
  const run = cli([
    'predict',
    '--model',
    modelDir,
    '--input',
    input,
    '--output',
    output,
    '--batch_size',
    '2',
    '--max_len',
    '32',
    '--backend',
    'wasm',
  ]);
  assert.equal(run.status, 0, run.stderr.slice(-2000));
  const predictor = await Predictor.load(modelDir);
  try {
    const expected = predictor.predict(SENTENCES, { batchSize: 1, maxLength: 32 }).tags;
    const written = await readDataset(output);
    assert.deepEqual(
      written.sentences.map((s) => s.tokens),
      SENTENCES,
    );
    assert.deepEqual(
      written.sentences.map((s) => s.tags),
      expected,
    );
  } finally {
    predictor.dispose();
  }
});

test('ner-launch predict --format text prints JSON lines on stdout', () => {
  const input = join(work, 'in.txt');
  writeFileSync(input, 'Matti asuu Turussa.\nNokia Oyj!\n');
  const run = cli([
    'predict',
    '--model',
    modelDir,
    '--input',
    input,
    '--format',
    'text',
    '--backend',
    'wasm',
  ]);
  assert.equal(run.status, 0, run.stderr.slice(-2000));
  const records = run.stdout
    .trimEnd()
    .split('\n')
    .map((line) => JSON.parse(line));
  assert.deepEqual(
    records.map((r) => r.tokens),
    [
      ['Matti', 'asuu', 'Turussa', '.'],
      ['Nokia', 'Oyj', '!'],
    ],
  );
  for (const r of records) {
    assert.equal(r.tags.length, r.tokens.length);
    assert.ok(Array.isArray(r.entities));
  }
});

test('ner-launch predict with a missing model directory fails naming it, exit code 1', () => {
  const input = join(work, 'one.txt');
  writeFileSync(input, 'Matti\n');
  const missing = join(work, 'nope');
  const run = cli([
    'predict',
    '--model',
    missing,
    '--input',
    input,
    '--format',
    'text',
    '--backend',
    'wasm',
  ]);
  assert.equal(run.status, 2);
  assert.match(run.stderr, new RegExp(`ner-launch: error: ${missing}: no such directory`));
});

test('ner-launch predict refuses a batch size of 0 as a flag error', () => {
  const run = cli(['predict', '--model', modelDir, '--input', 'x.csv', '--batch_size', '0']);
  assert.equal(run.status, 2);
  assert.match(run.stderr, /--batch_size must be a positive integer, got 0/);
});
