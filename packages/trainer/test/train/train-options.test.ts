import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { UsageError } from '@ner-launch/common';
import {
  checkSaveModelPathWritable,
  readTrainConfigFile,
  resolveTrainOptions,
  TRAIN_FLAGS,
  trainFlagYargsOptions,
} from '../../src/train/train-options.js';

const dir = await mkdtemp(join(tmpdir(), 'train-options-'));
after(() => rm(dir, { recursive: true, force: true }));

async function yaml(name: string, text: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

function flagError(flag: string, pattern: RegExp) {
  return (error: unknown): boolean => {
    assert.ok(error instanceof UsageError, `expected UsageError, got ${String(error)}`);
    assert.equal(error.flag, flag);
    assert.match(error.message, pattern);
    return true;
  };
}

test("the defaults are the reference trainer's", async () => {
  const o = await resolveTrainOptions({}, {});
  assert.equal(o.data_path, './data/');
  assert.equal(o.save_model_path, './checkpoint/');
  assert.equal(o.max_len, 512);
  assert.equal(o.learning_rate, 0.0002);
  assert.equal(o.gamma, 0.8);
  assert.equal(o.epochs, 10);
  assert.equal(o.batch_size, 16);
  assert.equal(o.num_workers, 4);
  assert.equal(o.patience, 2);
  assert.equal(o.freeze_layers, 0);
  assert.equal(o.double_lr, false);
  assert.equal(o.classifier_dropout, undefined);
  assert.equal(o.num_validate_during_training, 1);
  assert.equal(o.linear_scheduler, true);
  assert.equal(o.scheduler, 'linear');
  assert.equal(o.val_test_size, undefined);
  assert.equal(o.model_name_or_path, 'TurkuNLP/bert-base-finnish-cased-v1');
  assert.equal(o.wd, 0.01);
  assert.equal(o.warmup_steps, undefined);
  assert.equal(o.max_grad_norm, 1);
  assert.equal(o.gradient_accumulation_steps, 1);
  assert.equal(o.label_all_subtokens, true);
  assert.equal(o.backend, 'auto');
});

test('every flag has a kebab-case alias in the yargs options', () => {
  const options = trainFlagYargsOptions();
  for (const name of Object.keys(TRAIN_FLAGS)) {
    assert.ok(options[name], name);
    if (name.includes('_')) assert.equal(options[name].alias, name.replace(/_/g, '-'));
  }
  assert.equal(options.config.type, 'string');
});

test('kebab-case keys are read like snake_case ones', async () => {
  const o = await resolveTrainOptions({ 'batch-size': 8 }, {});
  assert.equal(o.batch_size, 8);
});

test('a --config YAML file sets flags and the command line wins over it', async () => {
  const path = await yaml(
    'run.yaml',
    'epochs: 3\nbatch-size: 4\nlearning_rate: 1e-3\nlabels: [O, B-PER, I-PER]\n',
  );
  const fromFile = await resolveTrainOptions({ config: path }, {});
  assert.deepEqual(
    [
      fromFile.epochs,
      fromFile.batch_size,
      fromFile.learning_rate,
      fromFile.labels,
      fromFile.config,
    ],
    [3, 4, 1e-3, ['O', 'B-PER', 'I-PER'], path],
  );
  const cliWins = await resolveTrainOptions({ config: path, epochs: 5 }, {});
  assert.deepEqual([cliWins.epochs, cliWins.batch_size], [5, 4]);
});

test('an unknown YAML key is an error naming the file and the key', async () => {
  const path = await yaml('bad-key.yaml', 'epochs: 3\nlearning-rat: 0.1\n');
  await assert.rejects(readTrainConfigFile(path), (error: unknown) => {
    assert.ok(error instanceof UsageError);
    assert.ok(error.message.includes(path));
    assert.match(error.message, /unknown key "learning-rat"/);
    return true;
  });
});

test('a bad YAML value is a flag error naming the flag and the file', async () => {
  const path = await yaml('bad-value.yaml', 'epochs: 0\n');
  await assert.rejects(
    resolveTrainOptions({ config: path }, {}),
    flagError('epochs', /--epochs \(in .*bad-value\.yaml, key "epochs"\): must be >= 1/),
  );
});

test('out-of-range flags are errors naming the flag', async () => {
  const cases: [Record<string, unknown>, string, RegExp][] = [
    [{ learning_rate: 0 }, 'learning_rate', /--learning_rate: must be > 0/],
    [{ epochs: 2.5 }, 'epochs', /expected an integer/],
    [{ batch_size: 0 }, 'batch_size', /must be >= 1/],
    [{ gamma: 1.5 }, 'gamma', /must be in \(0, 1\]/],
    [{ freeze_layers: -2 }, 'freeze_layers', /must be >= -1/],
    [{ classifier_dropout: 1 }, 'classifier_dropout', /must be in \[0, 1\)/],
    [{ val_test_size: 0.5 }, 'val_test_size', /must be in \(0, 0\.5\)/],
    [{ num_validate_during_training: 0 }, 'num_validate_during_training', /must be >= 1/],
    [{ gradient_accumulation_steps: 0 }, 'gradient_accumulation_steps', /must be >= 1/],
    [{ max_len: Number.NaN }, 'max_len', /expected a number/],
    [{ scheduler: 'cosine' }, 'scheduler', /must be one of linear, exponential, none/],
    [{ backend: 'tpu' }, 'backend', /must be one of/],
    [{ double_lr: 'yes' }, 'double_lr', /expected true or false/],
    [{ labels: 'O,,B-PER' }, 'labels', /without empty items/],
    [{ labels: 'O,O' }, 'labels', /twice/],
  ];
  for (const [cli, flag, pattern] of cases)
    await assert.rejects(
      resolveTrainOptions(cli, {}),
      flagError(flag, pattern),
      JSON.stringify(cli),
    );
});

test('linear_scheduler false means the exponential schedule, and conflicts are errors', async () => {
  assert.equal(
    (await resolveTrainOptions({ linear_scheduler: false }, {})).scheduler,
    'exponential',
  );
  assert.equal((await resolveTrainOptions({ scheduler: 'none' }, {})).linear_scheduler, false);
  await assert.rejects(
    resolveTrainOptions({ linear_scheduler: false, scheduler: 'linear' }, {}),
    flagError('linear_scheduler', /conflicts with --scheduler linear/),
  );
  const path = await yaml('sched.yaml', 'linear_scheduler: false\n');
  assert.equal(
    (await resolveTrainOptions({ config: path, scheduler: 'none' }, {})).scheduler,
    'none',
  );
});

test('the backend comes from the launcher (NER_BACKEND) unless a flag sets it', async () => {
  assert.equal((await resolveTrainOptions({}, { NER_BACKEND: 'wasm' })).backend, 'wasm');
  assert.equal(
    (await resolveTrainOptions({ backend: 'cpu' }, { NER_BACKEND: 'wasm' })).backend,
    'cpu',
  );
});

test('string spellings of booleans and numbers are accepted', async () => {
  const o = await resolveTrainOptions(
    { double_lr: 'True', epochs: '3', labels: 'O, B-LOC ,I-LOC' },
    {},
  );
  assert.deepEqual([o.double_lr, o.epochs, o.labels], [true, 3, ['O', 'B-LOC', 'I-LOC']]);
});

test('an unwritable save_model_path is a flag error before training', async () => {
  const file = join(dir, 'a-file');
  await writeFile(file, 'x');
  await assert.rejects(
    checkSaveModelPathWritable(join(file, 'model')),
    flagError('save_model_path', /--save_model_path .*a-file\/model: not writable/),
  );
  if (process.getuid?.() !== 0) {
    const locked = join(dir, 'locked');
    await checkSaveModelPathWritable(locked);
    await chmod(locked, 0o500);
    await assert.rejects(
      checkSaveModelPathWritable(locked),
      flagError('save_model_path', /not writable/),
    );
    await chmod(locked, 0o700);
  }
  await checkSaveModelPathWritable(join(dir, 'fresh', 'nested'));
});
