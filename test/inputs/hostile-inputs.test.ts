/**
 * Hostile and broken inputs (issue 20): each ends with a one-line error naming the file and
 * the field or limit, in bounded memory (the child's own peak RSS), with nothing left behind.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import {
  appendFileSync,
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, describe, test } from 'node:test';
import { launch, resolveLaunchConfig } from '@ner-launch/launcher';
import { NER_LAUNCH_BIN } from '../support/cli.js';
import { REPO_ROOT } from '../support/python.js';
import {
  lieAboutSize,
  modelDir,
  stateDictPickle,
  textInput,
  tinyConfig,
  torchZip,
} from '../support/hostile-inputs.js';
import { runMeasured, runMeasuredAsync, type MeasuredRun } from '../support/measured-cli.js';

const GiB = 2 ** 30;
/** A safetensors file holding no tensor (every parameter then counts as missing). */
const EMPTY_SAFETENSORS = Uint8Array.from([2, 0, 0, 0, 0, 0, 0, 0, 0x7b, 0x7d]);
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

/** Quickstart training flags (1 epoch, short sentences; `flags` replace them): a run of a few seconds. */
function quickTrain(save: string, flags: Record<string, string> = {}, ...more: string[]): string[] {
  const all: Record<string, string> = {
    data_path: 'examples/quickstart/data/',
    model_name_or_path: 'examples/quickstart/model/',
    save_model_path: save,
    epochs: '1',
    max_len: '64',
    backend: 'wasm',
    ...flags,
  };
  return ['train', ...Object.entries(all).flatMap(([k, v]) => [`--${k}`, v]), ...more];
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
      quickTrain(save, { save_total_limit: '1' }, '--overwrite_output_dir'),
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

describe('readers hold one bounded record at a time', () => {
  const longToken = 'x'.repeat(2 ** 20 + 10);

  test('case 6: a text line past the maximum line size is refused naming the file, line and limit', () => {
    const dir = join(root, 'long-line');
    const model = modelDir(join(dir, 'model'), { 'model.safetensors': new Uint8Array(0) });
    const input = join(dir, 'input.txt');
    writeFileSync(input, `a b\n${longToken}\n`);
    assertRefused(
      predict(model, input),
      /input\.txt:2: line is longer than the maximum of 1048576 characters/,
      512 * 2 ** 20,
    );
  });

  test('case 6: predict reads its text input in constant memory (a 160 MB file, one chunk at a time)', () => {
    const dir = join(root, 'big-text');
    mkdirSync(dir, { recursive: true });
    const input = join(dir, 'big.txt');
    const block = 'Matti asuu Helsingissä ja työskentelee Nokialla .\n'.repeat(20_000);
    writeFileSync(input, '');
    for (let i = 0; i < 160; i++) appendFileSync(input, block);
    const script = join(dir, 'read.mts');
    writeFileSync(
      script,
      `import { readTextLines } from ${JSON.stringify(join(REPO_ROOT, 'packages/trainer/src/predict/text-input.ts'))};\n` +
        `let n = 0;\nfor await (const _ of readTextLines(${JSON.stringify(input)})) n++;\nprocess.stdout.write(String(n));\n`,
    );
    const run = spawnSync(
      process.execPath,
      ['--import', 'tsx', '--import', join(REPO_ROOT, 'test/support/report-peak-rss.mjs'), script],
      { encoding: 'utf8', cwd: REPO_ROOT },
    );
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout, String(160 * 20_000));
    const peak = Number(/PEAK_RSS_KB=(\d+)/.exec(run.stderr)![1]) * 1024;
    // The file alone is 160 MiB; held whole (and split into lines) it would take twice that.
    assert.ok(peak < 160 * 2 ** 20, `peak RSS ${(peak / 2 ** 20).toFixed(0)} MiB`);
  });

  test('case 7: a train.csv cell holding one token past the record size is refused', () => {
    const dir = join(root, 'long-token');
    mkdirSync(dir, { recursive: true });
    for (const split of ['train', 'val', 'test'])
      writeFileSync(
        join(dir, `${split}.csv`),
        `tokens,tags\n"['a', 'b']","['O', 'O']"\n` +
          (split === 'train' ? `"['${longToken}']","['O']"\n` : ''),
      );
    const run = runMeasured(quickTrain(join(dir, 'out'), { data_path: dir }));
    assertRefused(run, /train\.csv:3: record is longer than the maximum of 1048576 characters/);
  });

  test('case 10: a .csv linked to /dev/zero ends at the record size', () => {
    const dir = join(root, 'dev-zero-csv');
    mkdirSync(dir, { recursive: true });
    symlinkSync('/dev/zero', join(dir, 'zero.csv'));
    const run = runMeasured(['data', 'count', join(dir, 'zero.csv')]);
    assertRefused(run, /zero\.csv:1: record is longer than the maximum of 1048576 characters/);
  });

  test('case 10: a vocab.txt linked to /dev/zero is refused as not a regular file', () => {
    const dir = join(root, 'dev-zero-vocab');
    const model = modelDir(dir, { 'model.safetensors': EMPTY_SAFETENSORS });
    rmSync(join(model, 'vocab.txt'));
    symlinkSync('/dev/zero', join(model, 'vocab.txt'));
    assertRefused(predict(model, textInput(dir)), /vocab\.txt: is not a regular file/);
  });
});

describe('YAML configs are checked in linear time within a size bound', () => {
  const manyKeys = Array.from({ length: 100_000 }, (_, i) => `k${i}: ${i}\n`).join('');
  test('case 8: a --config_file of 100k keys is refused by its size', () => {
    const file = join(root, 'many-keys.yaml');
    writeFileSync(file, manyKeys);
    assertRefused(
      runMeasured(['--config_file', file, '--cpu', 'train']),
      /many-keys\.yaml cannot be read: \d+ bytes, more than the 65536 a config file may have/,
    );
  });

  test('case 8: train --config with 100k keys is refused by its size', () => {
    const file = join(root, 'many-train-keys.yaml');
    writeFileSync(file, manyKeys);
    assertRefused(
      runMeasured(['train', '--config', file]),
      /--config .*many-train-keys\.yaml: cannot read the file \(\d+ bytes, more than the 65536/,
    );
  });

  test('case 8: a duplicate key is still found, with its line', () => {
    const file = join(root, 'duplicate.yaml');
    const keys = Array.from({ length: 3000 }, (_, i) => `k${i}: ${i}`);
    writeFileSync(file, `${keys.join('\n')}\nk7: again\n`);
    assertRefused(
      runMeasured(['train', '--config', file]),
      /duplicate\.yaml:3001: invalid YAML: duplicate key "k7"/,
    );
  });
});

describe('messages name the file and the field', () => {
  test('case 12: hidden_size 1e9 in a config-only model names the field and its maximum', () => {
    const dir = join(root, 'hidden-1e9');
    modelDir(dir, {}, tinyConfig({ hidden_size: 1e9, num_attention_heads: 1 }));
    assertRefused(
      runMeasured(quickTrain(join(dir, 'out'), { model_name_or_path: dir })),
      /config\.json: field "hidden_size" is 1000000000, more than the maximum 65536/,
    );
  });

  test('case 12: a vocab.txt that is a directory', () => {
    const dir = join(root, 'vocab-dir');
    const model = modelDir(dir, { 'model.safetensors': EMPTY_SAFETENSORS });
    rmSync(join(model, 'vocab.txt'));
    mkdirSync(join(model, 'vocab.txt'));
    assertRefused(predict(model, textInput(dir)), /vocab\.txt: is a directory, expected a file/);
  });

  test('case 12: a special token missing from the vocabulary names special_tokens_map.json and the field', () => {
    const dir = join(root, 'special-token');
    modelDir(dir, { 'special_tokens_map.json': JSON.stringify({ unk_token: '[NOPE]' }) });
    assertRefused(
      runMeasured(quickTrain(join(dir, 'out'), { model_name_or_path: dir, max_len: '16' })),
      /special_tokens_map\.json: field "unk_token" is "\[NOPE\]", which is not in the vocabulary \(vocab\.txt\)/,
    );
  });

  test('case 12: --output at a directory, and in a folder that cannot be written, fail before predicting', () => {
    const dir = join(root, 'output');
    const model = modelDir(join(dir, 'model'), { 'model.safetensors': new Uint8Array(0) });
    const input = textInput(dir);
    assertRefused(
      predict(model, input, '--output', dir),
      /output: --output is a directory; give a file path/,
    );
    const locked = join(dir, 'locked');
    mkdirSync(locked);
    chmodSync(locked, 0o500);
    try {
      const run = predict(model, input, '--output', join(locked, 'out.jsonl'));
      // root may write anywhere: then the folder is writable and the model is read instead.
      if (process.getuid?.() !== 0)
        assertRefused(run, /cannot write --output: folder .*locked is not writable \(EACCES\)/);
      else assert.doesNotMatch(run.stderr, /ENOENT/);
    } finally {
      chmodSync(locked, 0o700);
    }
  });
});
