import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { REPO_ROOT } from '../../../../test/support/python.js';

const BIN = join(REPO_ROOT, 'packages', 'launcher', 'bin', 'ner-launch.mjs');
const dir = mkdtempSync(join(tmpdir(), 'train-command-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `ner-launch train ...` as a launched worker would (rank 0 of 1). */
function worker(args: string[]) {
  return spawnSync(process.execPath, [BIN, 'train', ...args], {
    encoding: 'utf8',
    cwd: REPO_ROOT,
    timeout: 60_000,
    env: {
      ...process.env,
      RANK: '0',
      WORLD_SIZE: '1',
      NER_RUN_TOKEN: 'test',
      NER_LOG_LEVEL: 'warn',
    },
  });
}

test('train -h lists the train flags with their defaults and kebab-case aliases', () => {
  const r = spawnSync(process.execPath, [BIN, 'train', '-h'], { encoding: 'utf8', cwd: REPO_ROOT });
  assert.equal(r.status, 0, r.stderr);
  for (const text of [
    '--data_path, --data-path',
    '[default: ./data/]',
    '--learning_rate',
    '[default: 0.0002]',
    '--num_validate_during_training',
    '--config',
    'flag > --config YAML > default',
  ])
    assert.ok(r.stdout.includes(text), `help mentions ${text}`);
});

test('an out-of-range flag exits 2 with an error naming the flag', () => {
  const r = worker(['--epochs', '0']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /ner-launch train: error: --epochs: must be >= 1 \(got 0\)/);
  assert.ok(!r.stderr.includes('    at '), 'no stack trace');
});

test('a bad --config key exits 2 naming the file and key', () => {
  const config = join(dir, 'bad.yaml');
  writeFileSync(config, 'epochs: 2\nbatchsize: 4\n');
  const r = worker(['--config', config]);
  assert.equal(r.status, 2);
  assert.ok(r.stderr.includes(config) && r.stderr.includes('unknown key "batchsize"'), r.stderr);
});

test('an unwritable save_model_path fails before training', () => {
  const file = join(dir, 'file');
  writeFileSync(file, '');
  const r = worker(['--save_model_path', join(file, 'out'), '--data_path', join(dir, 'none')]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--save_model_path .*file\/out: not writable/);
});

test('a missing data folder is an error naming it', () => {
  const r = worker(['--data_path', join(dir, 'missing'), '--save_model_path', join(dir, 'out')]);
  assert.equal(r.status, 2);
  assert.match(
    r.stderr,
    /missing: --data_path: folder not found \(expected train\.csv, val\.csv and test\.csv/,
  );
});
