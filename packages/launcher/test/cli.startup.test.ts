import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  PREDICT_FORMATS as TRAINER_PREDICT_FORMATS,
  SCORING_MODES,
  SENTENCE_FORMATS,
  SPLIT_NAMES,
} from '@ner-launch/trainer';
import { DATA_FORMATS, DATA_SPLITS } from '../src/commands/data.js';
import { PREDICT_FORMATS } from '../src/commands/predict.js';
import { SCORE_MODES } from '../src/commands/score.js';
import { REPO_ROOT } from '../../../test/support/python.js';

/** Whether importing `modules` in a fresh process loads tfjs-core (which registers a global engine). */
function loadsTfjs(modules: string[]): boolean {
  const code = `for (const m of ${JSON.stringify(modules)}) await import(m); process.stdout.write(String('_tfengine' in globalThis));`;
  const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
  });
  assert.equal(run.status, 0, run.stderr.slice(-2000));
  return run.stdout === 'true';
}

const COMMANDS = join(REPO_ROOT, 'packages/launcher/src/commands');

test('command modules other than train define their flags without loading the trainer or tfjs', () => {
  const modules = ['config', 'data', 'data-tokenize', 'env', 'launch', 'predict', 'score', 'test'];
  assert.equal(
    loadsTfjs(modules.map((m) => join(COMMANDS, `${m}.ts`))),
    false,
    'a command module imports @ner-launch/trainer statically; import it inside the handler',
  );
});

test('`ner-launch -h` does not load tfjs', () => {
  assert.equal(loadsTfjs([join(REPO_ROOT, 'packages/launcher/src/cli.ts')]), false);
});

test('choice lists spelled out in the command modules equal the trainer’s', () => {
  assert.deepEqual(DATA_FORMATS, SENTENCE_FORMATS);
  assert.deepEqual(DATA_SPLITS, SPLIT_NAMES);
  assert.deepEqual(SCORE_MODES, SCORING_MODES);
  assert.deepEqual(PREDICT_FORMATS, TRAINER_PREDICT_FORMATS);
});
