/**
 * Hostile and broken inputs (issue 20): each ends with a one-line error naming the file and
 * the field or limit, in bounded memory (the child's own peak RSS), with nothing left behind.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import {
  lieAboutSize,
  modelDir,
  stateDictPickle,
  textInput,
  tinyConfig,
  torchZip,
} from './support/hostile-inputs.js';
import { runMeasured, type MeasuredRun } from './support/measured-cli.js';

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
