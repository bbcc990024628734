/**
 * How `ner-launch` ends on errors, through the real CLI: a usage or configuration error is one
 * line on stderr and exit code 2 (in the launcher, or in a worker), NER_LAUNCH_DEBUG=1 adds its
 * stack; a training run prints no probe of hardware it does not use.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { makeTinyTrainingFixture } from '../support/tiny-training.js';
import { REPO_ROOT } from '../support/python.js';

const BIN = join(REPO_ROOT, 'packages', 'launcher', 'bin', 'ner-launch.mjs');
const dir = mkdtempSync(join(tmpdir(), 'launcher-errors-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const fixture = await makeTinyTrainingFixture(join(dir, 'tiny'));

/**
 * Runs ner-launch with isolated config dirs and a PATH without nvidia-smi, so that this
 * machine has no GPUs whatever it holds.
 */
function cli(args: string[], env: NodeJS.ProcessEnv = {}) {
  const result = spawnSync(process.execPath, [BIN, ...args], {
    encoding: 'utf8',
    cwd: dir,
    env: {
      ...process.env,
      PATH: join(dir, 'no-bin'),
      NER_LAUNCH_CONFIG_DIR: dir,
      HF_HOME: dir,
      NER_RUN_TOKEN: '',
      NER_LAUNCH_DEBUG: '',
      NER_LOG_LEVEL: 'info',
      NER_LOG_FORMAT: 'json',
      ...env,
    },
    timeout: 120_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Asserts the run printed exactly `line` on stderr, nothing on stdout, and exited 2. */
function assertUsageError(run: ReturnType<typeof cli>, line: RegExp): void {
  assert.equal(run.code, 2, run.stderr);
  assert.equal(run.stdout, '');
  const lines = run.stderr.split('\n');
  assert.equal(lines.length, 2, `one line expected:\n${run.stderr}`);
  assert.equal(lines[1], '');
  assert.match(lines[0]!, line);
}

test('--multi_gpu on a machine without GPUs: one line, exit code 2', () => {
  assertUsageError(
    cli(['--multi_gpu', 'train']),
    /^ner-launch: error: --multi_gpu needs GPUs, but `nvidia-smi -L` lists none; pass --gpu_ids, or use --cpu$/,
  );
});

test('an unknown launch flag: one line naming it, no help dump, exit code 2', () => {
  assertUsageError(
    cli(['--cpu', '--num_process', '2', 'train']),
    /^ner-launch: error: Unknown arguments?: .*num_process.* \(see `ner-launch -h`\)$/,
  );
});

test('an unknown or malformed train flag is refused before any worker starts', () => {
  assertUsageError(
    cli(['--cpu', '--num_processes', '2', 'train', '--epochz', '3']),
    /^ner-launch: error: Unknown argument: epochz \(see `ner-launch train -h`\)$/,
  );
  assertUsageError(
    cli(['--cpu', 'train', '--learning_rate', 'fast']),
    /^ner-launch: error: --learning_rate: expected a number \(got "fast"\)$/,
  );
  assertUsageError(
    cli(['--cpu', '--num_processes=two', 'train']),
    /^ner-launch: error: --num_processes: expected an integer >= 1, got 'two'$/,
  );
});

test('a launch config with a YAML syntax error: one line naming file and line, exit code 2', () => {
  const path = join(dir, 'broken.yaml');
  writeFileSync(path, 'num_processes: 2\nmixed_precision: [no\n');
  assertUsageError(cli(['--config_file', path, 'train']), /^ner-launch: error: .*broken\.yaml/);
  const train = join(dir, 'train-broken.yaml');
  writeFileSync(train, 'epochs: 2\nbatch_size: [16\n');
  assertUsageError(
    cli(['--cpu', 'train', '--config', train]),
    /^ner-launch: error: --config .*train-broken\.yaml:\d+: invalid YAML: /,
  );
});

test('a missing data folder: one line naming it, before any worker starts, exit code 2', () => {
  const missing = join(dir, 'no-such-data');
  assertUsageError(
    cli(['--cpu', '--num_processes', '2', 'train', '--data_path', missing]),
    new RegExp(`^ner-launch: error: ${missing}: --data_path: folder not found`),
  );
});

test('NER_LAUNCH_DEBUG=1 adds the stack to a usage error; the exit code stays 2', () => {
  const run = cli(['--multi_gpu', 'train'], { NER_LAUNCH_DEBUG: '1' });
  assert.equal(run.code, 2);
  const lines = run.stderr.split('\n');
  assert.match(lines[0]!, /^ner-launch: error: --multi_gpu needs GPUs/);
  assert.match(lines[1]!, /^UsageError: --multi_gpu needs GPUs/);
  assert.match(lines[2]!, /^ {4}at .*launch-config\.ts/);
});

test('a bad record that every worker reads: one line in all, no failure summary, exit code 2', () => {
  const data = join(dir, 'bad-data');
  const good = `tokens,tags\n"['Matti', 'asuu']","['B-PER', 'O']"\n`;
  mkdirSync(data);
  writeFileSync(join(data, 'train.csv'), `${good}"['Nokia']","['B-ORG'"\n`);
  writeFileSync(join(data, 'val.csv'), good);
  writeFileSync(join(data, 'test.csv'), good);
  const run = cli([
    '--cpu',
    '--num_processes',
    '2',
    'train',
    '--data_path',
    data,
    '--model_name_or_path',
    fixture.modelDir,
    '--save_model_path',
    join(dir, 'bad-data-out'),
  ]);
  assert.equal(run.code, 2, run.stderr);
  const errors = run.stderr.split('\n').filter((l) => /error/i.test(l));
  assert.equal(errors.length, 1, run.stderr);
  assert.match(
    errors[0]!,
    /^\[rank [01]\] ner-launch train: error: .*bad-data\/train\.csv:3: record 2: tags cell is not a list of strings/,
  );
  assert.doesNotMatch(run.stderr, /worker group failed|Root cause|\n {4}at /);
});

test('a training run prints no probe of absent hardware: stderr is the log and progress only', () => {
  const run = cli([
    '--cpu',
    '--num_processes',
    '1',
    'train',
    '--data_path',
    fixture.dataDir,
    '--model_name_or_path',
    fixture.modelDir,
    '--save_model_path',
    join(dir, 'run-out'),
    '--epochs',
    '1',
    '--max_len',
    '32',
  ]);
  assert.equal(run.code, 0, run.stderr);
  const lines = run.stderr.split('\n').filter((l) => l !== '');
  assert.ok(lines.length > 0);
  // Every line is the JSON log or the progress bars: no library or driver output.
  const stray = lines.filter(
    (l) => !l.startsWith('{"level":') && !/^(Epoch \d+\/\d+|Validation|Test): \d+\/\d+ /.test(l),
  );
  assert.deepEqual(stray, []);
  const messages = lines
    .filter((l) => l.startsWith('{'))
    .map((l) => (JSON.parse(l) as { msg: string }).msg);
  assert.ok(
    !messages.some((m) => /nvidia|cuda|libcuda|GPU/i.test(m)),
    `a log line about GPUs:\n${messages.join('\n')}`,
  );
});
