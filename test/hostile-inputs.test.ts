/**
 * Hostile and broken inputs (issue 20): each ends with a one-line error naming the file and
 * the field or limit, in bounded memory (the child's own peak RSS), with nothing left behind.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, describe, test } from 'node:test';
import { resolveLaunchConfig } from '../packages/launcher/src/launch-config.js';
import { launch } from '../packages/launcher/src/launch.js';
import { NER_LAUNCH_BIN } from './support/cli.js';
import {
  lieAboutSize,
  modelDir,
  stateDictPickle,
  textInput,
  tinyConfig,
  torchZip,
} from './support/hostile-inputs.js';
import { runMeasured, runMeasuredAsync, type MeasuredRun } from './support/measured-cli.js';

const GiB = 2 ** 30;
const root = mkdtempSync(join(tmpdir(), 'hostile-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** Asserts a failed run with an error line matching `message`, within `maxRss` bytes. */
function assertRefused(run: MeasuredRun, message: RegExp, maxRss = GiB): void {
  assert.notEqual(run.status, 0, `expected a failure, got exit 0:\n${run.stderr}`);
  assert.equal(run.signal, null, `ended by ${run.signal}:\n${run.stderr}`);
  const lines = run.stderr.split('\n').filter((l) => /error: /.test(l));
  assert.ok(
    lines.some((l) => message.test(l)),
    `no error line matches ${message}:\n${run.stderr}`,
  );
  assert.ok(
    run.peakRssBytes < maxRss,
    `peak RSS ${(run.peakRssBytes / 2 ** 20).toFixed(0)} MiB is over ${maxRss / 2 ** 20} MiB`,
  );
}

function predict(model: string, input: string, ...more: string[]): MeasuredRun {
  return runMeasured([
    'predict',
    '--model',
    model,
    '--input',
    input,
    '--format',
    'text',
    '--backend',
    'cpu',
    ...more,
  ]);
}

describe('weights and configs that would allocate gigabytes are refused from declared sizes', () => {
  test('case 1: a stride-0 view of [40000, 50000] over a one-element storage', () => {
    const dir = join(root, 'stride0');
    const pickle = stateDictPickle([
      {
        name: 'bert.embeddings.word_embeddings.weight',
        storageKey: '0',
        numel: 1,
        shape: [40000, 50000],
        stride: [0, 0],
      },
    ]);
    modelDir(dir, { 'pytorch_model.bin': torchZip(pickle, { '0': new Uint8Array(4) }) });
    assertRefused(
      predict(dir, textInput(dir)),
      /pytorch_model\.bin: tensor "bert\.embeddings\.word_embeddings\.weight" \(shape \[40000, 50000\], 2000000000 elements\) is a view repeating the 1 elements of storage 0/,
      256 * 2 ** 20,
    );
  });

  test('case 1: a view within its storage but larger than any parameter of the config', () => {
    const dir = join(root, 'too-large');
    const pickle = stateDictPickle([
      { name: 'extra', storageKey: '0', numel: 4096, shape: [64, 64], stride: [64, 1] },
    ]);
    modelDir(dir, { 'pytorch_model.bin': torchZip(pickle, { '0': new Uint8Array(4 * 4096) }) });
    assertRefused(
      predict(dir, textInput(dir)),
      /pytorch_model\.bin: tensor "extra" has 4096 elements, more than the largest parameter of the model .*config\.json describes \(\d+\)/,
    );
  });

  const bomb = new Uint8Array(32 * 2 ** 20);
  const tensor = [{ name: 'w', storageKey: '0', numel: 8, shape: [8], stride: [1] }];
  test('case 2: a zip entry declaring more bytes than the config allows is not inflated', () => {
    const dir = join(root, 'zip-bomb');
    modelDir(dir, { 'pytorch_model.bin': torchZip(stateDictPickle(tensor), { '0': bomb }, 9) });
    assertRefused(
      predict(dir, textInput(dir)),
      /pytorch_model\.bin: zip entry archive\/data\/0 declares 33554432 bytes .*more than the \d+ bytes allowed for the model .*config\.json describes/,
      256 * 2 ** 20,
    );
  });

  test('case 2: a zip entry whose header lies about its size stops inflating at the declared size', () => {
    const dir = join(root, 'zip-liar');
    const zip = lieAboutSize(
      torchZip(stateDictPickle(tensor), { '0': bomb }, 9),
      'archive/data/0',
      32,
    );
    modelDir(dir, { 'pytorch_model.bin': zip });
    assertRefused(
      predict(dir, textInput(dir)),
      /pytorch_model\.bin: zip archive: entry archive\/data\/0 inflates to more than the 32 bytes its header declares/,
      256 * 2 ** 20,
    );
  });

  test('case 5: num_hidden_layers 1000000 beside weights is refused by its maximum', () => {
    const dir = join(root, 'layers');
    modelDir(
      dir,
      { 'model.safetensors': new Uint8Array(0) },
      tinyConfig({ num_hidden_layers: 1_000_000 }),
    );
    assertRefused(
      predict(dir, textInput(dir)),
      /config\.json: field "num_hidden_layers" is 1000000, more than the maximum 256 this trainer accepts/,
    );
  });

  test('case 5: a config-only model of 48 layers of hidden 4096 is refused before random init', () => {
    const dir = join(root, 'huge-config');
    modelDir(
      dir,
      {},
      tinyConfig({
        vocab_size: 30522,
        hidden_size: 4096,
        num_hidden_layers: 48,
        num_attention_heads: 32,
        intermediate_size: 16384,
        max_position_embeddings: 512,
      }),
    );
    const run = runMeasured([
      'train',
      '--model_name_or_path',
      dir,
      '--data_path',
      'examples/quickstart/data',
      '--save_model_path',
      join(dir, 'out'),
      '--backend',
      'cpu',
    ]);
    assertRefused(
      run,
      /config\.json: field "num_hidden_layers" describes a model of \d+ parameters .* more than the limit of [\d.]+ GiB/,
    );
  });
});

/** Quickstart training flags (1 epoch, short sentences): a real run of a few seconds. */
function quickTrain(save: string, ...more: string[]): string[] {
  return [
    'train',
    '--data_path',
    'examples/quickstart/data/',
    '--model_name_or_path',
    'examples/quickstart/model/',
    '--save_model_path',
    save,
    '--epochs',
    '1',
    '--max_len',
    '64',
    '--backend',
    'wasm',
    ...more,
  ];
}

/** Whether process `pid` still exists. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Polls until `check` holds (a hang guard of `guardMs`, not a timing assertion). */
async function eventually(check: () => boolean, guardMs = 60_000): Promise<boolean> {
  const end = Date.now() + guardMs;
  while (!check()) {
    if (Date.now() > end) return false;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return true;
}

describe('the launcher bounds its workers and takes them down with it', () => {
  test('case 3: --num_processes 1000000 is refused before anything is prepared', () => {
    const run = runMeasured(['--cpu', '--num_processes', '1000000', 'train']);
    assertRefused(
      run,
      /--num_processes is 1000000: 1000000 worker processes per machine, more than the maximum 256/,
      512 * 2 ** 20,
    );
  });

  test('case 3: a SIGTERM while the launch is being prepared starts no worker', async () => {
    const dir = join(root, 'sigterm');
    mkdirSync(dir, { recursive: true });
    const script = join(dir, 'idle.ts');
    writeFileSync(script, 'setInterval(() => undefined, 1000);\n');
    const { config } = resolveLaunchConfig(
      { cpu: true, numProcesses: 2 },
      undefined,
      { kind: 'script', path: script, args: [] },
      { detectGpuIds: () => [], tensorflowInstalled: () => false, cpuCount: () => 2 },
    );
    const sink = new PassThrough();
    sink.resume();
    const pending = launch(config, {
      console: { stdout: sink, stderr: sink },
      forwardSignals: true,
    });
    process.emit('SIGTERM', 'SIGTERM');
    const result = await pending;
    assert.equal(result.last.pids.length, 0);
    assert.equal(result.exitCode, 128 + 15);
    assert.equal(result.last.interruptedBy, 'SIGTERM');
  });

  test('case 9: the workers of a script target exit when the launcher is killed with SIGKILL', async () => {
    const dir = join(root, 'orphans');
    mkdirSync(dir, { recursive: true });
    const script = join(dir, 'idle.ts');
    writeFileSync(
      script,
      `import { writeFileSync } from 'node:fs';\nwriteFileSync(${JSON.stringify(dir)} + '/worker-' + process.env.RANK, String(process.pid));\nsetInterval(() => undefined, 1000);\n`,
    );
    const launcher = spawn(
      process.execPath,
      [NER_LAUNCH_BIN, '--cpu', '--num_processes', '2', script],
      {
        stdio: 'ignore',
        env: { ...process.env, NER_LAUNCH_CONFIG_DIR: join(dir, 'config') },
      },
    );
    const pidFiles = [0, 1].map((rank) => join(dir, `worker-${rank}`));
    assert.ok(
      await eventually(() => pidFiles.every((f) => existsSync(f))),
      'the workers did not start',
    );
    const workers = pidFiles.map((f) => Number(readFileSync(f, 'utf8')));
    launcher.kill('SIGKILL');
    const gone = await eventually(() => workers.every((pid) => !alive(pid)));
    for (const pid of workers) if (alive(pid)) process.kill(pid, 'SIGKILL');
    assert.ok(gone, `workers ${workers.join(', ')} outlived their launcher`);
  });

  test('case 4: a rank failing with an ordinary error aborts rank 0 on the other machine, naming itself', async () => {
    const dir = join(root, 'two-machines');
    const port = 22000 + (process.pid % 5000);
    const common = [
      '--cpu',
      '--num_machines',
      '2',
      '--num_processes',
      '2',
      '--main_process_ip',
      '127.0.0.1',
      '--main_process_port',
      String(port),
      '--mixed_precision',
      'no',
    ];
    const env = { NER_RUN_TOKEN: 'c'.repeat(32) };
    // Each machine has its own --save_model_path: rank 1 finds no best model at the test phase.
    const run = (rank: number): Promise<MeasuredRun> =>
      runMeasuredAsync(
        [...common, '--machine_rank', String(rank), ...quickTrain(join(dir, `m${rank}`))],
        { env },
      );
    const [machine0, machine1] = await Promise.all([run(0), run(1)]);
    assert.notEqual(machine1.status, 0);
    assertRefused(
      machine0,
      /rank 1 aborted the group: rank 1 failed: --save_model_path .*m1: no best model here to test with/,
    );
  });
});

describe('the save folder belongs to the user', () => {
  test('case 11: a save folder holding files we did not write is refused and left untouched', () => {
    const save = join(root, 'user-folder');
    mkdirSync(join(save, 'checkpoints', 'step-5'), { recursive: true });
    mkdirSync(join(save, '.best-model-staging'), { recursive: true });
    writeFileSync(join(save, 'config.json'), '{"mine": true}\n');
    writeFileSync(join(save, 'checkpoints', 'step-5', 'notes.txt'), 'my notes\n');
    writeFileSync(join(save, '.best-model-staging', 'keep.txt'), 'keep\n');
    const refused = runMeasured(quickTrain(save));
    assertRefused(
      refused,
      /--save_model_path .*user-folder already holds 3 entries ner-launch did not write \(\.best-model-staging, checkpoints, config\.json\); .*--overwrite_output_dir/,
    );
    assert.equal(readFileSync(join(save, 'config.json'), 'utf8'), '{"mine": true}\n');
    assert.ok(existsSync(join(save, '.best-model-staging', 'keep.txt')));

    const overwritten = runMeasured(
      quickTrain(save, '--overwrite_output_dir', '--save_total_limit', '1'),
    );
    assert.equal(overwritten.status, 0, overwritten.stderr);
    // A step folder without our manifest is not ours: never pruned.
    assert.equal(
      readFileSync(join(save, 'checkpoints', 'step-5', 'notes.txt'), 'utf8'),
      'my notes\n',
    );
    // Our own folder is written into again without the flag.
    const again = runMeasured(quickTrain(save));
    assert.equal(again.status, 0, again.stderr);
  });
});
