import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { buildCli } from '../../src/cli.js';
import { dataIo } from '../../src/commands/data.js';
import { skipWithoutTurku, TURKU_DIR } from '../../../../test/support/python.js';

const BIN = fileURLToPath(new URL('../../bin/ner-launch.mjs', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'data-command-'));

/** Runs `ner-launch data ...` as a user would, in a child process (slow: a few per file). */
function dataProcess(...args: string[]) {
  const result = spawnSync(process.execPath, [BIN, 'data', ...args], {
    encoding: 'utf8',
    env: { ...process.env, NER_LAUNCH_CONFIG_DIR: dir, NER_RUN_TOKEN: '' },
    timeout: 120_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/**
 * Runs `ner-launch data ...` through the same yargs tree in this process, capturing what the
 * command writes; much faster than a child process, so most cases use it.
 */
async function data(...args: string[]) {
  const captured = { stdout: '', stderr: '' };
  const saved = { ...dataIo };
  dataIo.out = (text) => void (captured.stdout += text);
  dataIo.err = (text) => void (captured.stderr += text);
  process.exitCode = undefined;
  try {
    await buildCli(['data', ...args]).parseAsync();
  } finally {
    Object.assign(dataIo, saved);
  }
  const code = Number(process.exitCode ?? 0);
  process.exitCode = undefined;
  return { code, ...captured };
}

function file(name: string, content: string): string {
  const path = join(dir, name);
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, content);
  return path;
}

test(
  'data convert turns the Turku CoNLL files into the reference CSVs byte for byte',
  { skip: skipWithoutTurku() },
  async () => {
    for (const [tsv, csv] of [
      ['train.tsv', 'train.csv'],
      ['dev.tsv', 'val.csv'],
      ['test.tsv', 'test.csv'],
    ] as const) {
      const out = join(dir, 'turku', csv);
      const r = await data('convert', '--input', join(TURKU_DIR, tsv), '--output', out);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /converted \d+ sentences/);
      assert.ok(readFileSync(out).equals(readFileSync(join(TURKU_DIR, csv))), `${csv} differs`);
    }
  },
);

test(
  'data validate accepts the converted Turku directory with a JSON summary',
  { skip: skipWithoutTurku() },
  async () => {
    const r = await data('validate', '--data-path', join(dir, 'turku'), '--json');
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout) as {
      ok: boolean;
      labels: string[];
      splits: Record<string, { sentences: number }>;
    };
    assert.equal(report.ok, true);
    assert.equal(report.labels[0], 'O');
    assert.deepEqual(
      Object.values(report.splits).map((s) => s.sentences),
      [12217, 1364, 1555],
    );
  },
);

test('data validate lists every error with file and line and exits non-zero', async () => {
  const header = 'tokens,tags\n';
  const d = join(dir, 'broken');
  file('broken/train.csv', `${header}"['a', 'b']","['B-PER', 'O']"\n"['a', 'b']",['O']\n`);
  file('broken/val.csv', `${header}['a'],['B-LOC']\n['a'],['X-PER']\n`);
  file('broken/test.csv', `${header}"['a' 'b']",['O']\n`);
  const r = dataProcess('validate', '--data_path', d);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, '');
  const lines = r.stderr.trim().split('\n');
  assert.deepEqual(
    lines.map((l) => l.replaceAll(d, 'D')),
    [
      'D/train.csv:3: record 2: tokens and tags differ in length (2 tokens, 1 tags)',
      'D/val.csv:3: record 2: tag 1 "X-PER" is not an IOB tag (O, B-TYPE or I-TYPE)',
      "D/test.csv:2: record 1: tokens cell is not a list of strings: expected ',' or ']' but found ''' at column 6",
      'D/val.csv:2: record 1: tag "B-LOC" (word 1) is not in the label set (labels from D/train.csv)',
      'data validate: 4 error(s) in D',
    ],
  );
  const json = await data('validate', '--data_path', d, '--json');
  assert.equal(json.code, 1);
  assert.equal((JSON.parse(json.stdout) as { errors: unknown[] }).errors.length, 4);
});

test('a bad input file fails with one clean line naming file and line, and writes nothing', async () => {
  const bad = file('bad.tsv', 'a\tO\n\nb\tB-X\nc\n');
  const out = join(dir, 'never', 'out.csv');
  const r = dataProcess('convert', '--input', bad, '--output', out);
  assert.equal(r.code, 2);
  assert.equal(
    r.stderr,
    `ner-launch data: error: ${bad}:4: expected a token and a tag, found one column "c"\n`,
  );
  assert.equal(existsSync(out), false);
  const missing = await data('count', join(dir, 'absent.csv'));
  assert.equal(missing.code, 2);
  assert.equal(
    missing.stderr,
    `ner-launch data: error: ${join(dir, 'absent.csv')}: file not found\n`,
  );
});

test(
  'an output folder that cannot be made fails with one line instead of hanging',
  { skip: process.platform !== 'linux' },
  () => {
    const input = file('ok.tsv', 'a\tO\n');
    // Node's recursive mkdir never returns under /proc; the child's timeout would show it.
    const r = dataProcess('convert', '--input', input, '--output', '/proc/ner-launch-nope/out.csv');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^ner-launch data: error: .*'\/proc\/ner-launch-nope'\n$/);
  },
);

test('data count prints sentences, tokens and tags per class, as text or JSON', async () => {
  const f = file('count.tsv', 'A\tB-PER\nb\tI-PER\nc\tO\n\nd\tI-LOC\n');
  const r = await data('count', f, '--json');
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), {
    file: f,
    sentences: 2,
    tokens: 4,
    tags: { O: 1, 'B-PER': 1, 'I-LOC': 1, 'I-PER': 1 },
    entities: { LOC: 1, PER: 1 },
    invalidIobSequences: 1,
  });
  const text = await data('count', f);
  assert.match(text.stdout, /sentences: 2\n {2}tokens: 4\n/);
  assert.match(text.stdout, /invalid IOB sequences .*: 1/);
});

test('data split is seeded and deterministic, in CSV or CoNLL, with both flag spellings', async () => {
  const sentences = Array.from({ length: 50 }, (_, i) => `w${i}\tO\n`).join('\n');
  const input = file('all.tsv', sentences);
  const a = await data(
    'split',
    '--input',
    input,
    '--output_dir',
    join(dir, 'sa'),
    '--train_ratio',
    '0.6',
    '--val_ratio',
    '0.2',
    '--seed',
    '7',
  );
  const b = await data(
    'split',
    '--input',
    input,
    '--output-dir',
    join(dir, 'sb'),
    '--train-ratio',
    '0.6',
    '--val-ratio',
    '0.2',
    '--seed',
    '7',
  );
  assert.equal(a.code, 0, a.stderr);
  assert.equal(b.code, 0, b.stderr);
  assert.match(a.stdout, /split 50 sentences \(seed 7\): train 30, val 10, test 10/);
  for (const name of ['train.csv', 'val.csv', 'test.csv'])
    assert.equal(
      readFileSync(join(dir, 'sa', name), 'utf8'),
      readFileSync(join(dir, 'sb', name), 'utf8'),
    );
  const c = await data(
    'split',
    '--input',
    input,
    '--output_dir',
    join(dir, 'sc'),
    '--format',
    'conll',
  );
  assert.equal(c.code, 0, c.stderr);
  assert.deepEqual(readdirSync(join(dir, 'sc')).sort(), ['test.tsv', 'train.tsv', 'val.tsv']);
  const bad = await data(
    'split',
    '--input',
    input,
    '--output_dir',
    join(dir, 'sd'),
    '--train_ratio',
    '0.9',
    '--val_ratio',
    '0.2',
  );
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--train_ratio \+ --val_ratio must not exceed 1/);
});

test('data filter maps tags, turns unmapped ones into O and reports how many', async () => {
  const input = file(
    'filter.csv',
    "tokens,tags\n\"['A', 'b', 'c']\",\"['B-PER', 'B-ORG', 'I-ORG']\"\n",
  );
  const mapping = file('map.json', '{"PER": "PERSON"}');
  const out = join(dir, 'filtered.csv');
  const r = await data('filter', '--input', input, '--output', out, '--mapping', mapping);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /filtered 1 sentences: .* 1 tags mapped, 2 unmapped tags replaced by O/);
  assert.equal(
    readFileSync(out, 'utf8'),
    "tokens,tags\n\"['A', 'b', 'c']\",\"['B-PERSON', 'O', 'O']\"\n",
  );
});
