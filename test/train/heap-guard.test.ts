/**
 * Heap exhaustion that the memory plan did not foresee (here: forced, by telling the plan it
 * may use 10 TB) ends a distributed run with the guard's error naming the step, the batch shape
 * and the plan's estimate, and every worker exits non-zero, instead of tfjs-wasm's bare
 * `Aborted()` / `memory access out of bounds`. A from-scratch model with 16 one-wide attention
 * heads makes the first attention-score tensor (256 x 16 x 512 x 512 floats, 4 GiB) larger than
 * the wasm heap can ever be, so the failure comes within seconds and without using the memory.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { REPO_ROOT } from '../support/python.js';

const BIN = join(REPO_ROOT, 'packages', 'launcher', 'bin', 'ner-launch.mjs');
const QUICKSTART_MODEL = join(REPO_ROOT, 'examples', 'quickstart', 'model');
const ROWS = 256;
const SEQ = 512;

const root = await mkdtemp(join(tmpdir(), 'train-heap-guard-'));
after(() => rm(root, { recursive: true, force: true }));

async function writeFixture(): Promise<{ dataDir: string; modelDir: string }> {
  const dataDir = join(root, 'data');
  const modelDir = join(root, 'model');
  await mkdir(dataDir, { recursive: true });
  await mkdir(modelDir, { recursive: true });
  // Every sentence is longer than max_len, so every batch is padded (truncated) to 512.
  const words = ['Liisa', ...Array.from({ length: 600 }, () => 'silta')];
  const tags = ['B-PER', ...words.slice(1).map(() => 'O')];
  const row = `"${JSON.stringify(words).replace(/"/g, "'")}","${JSON.stringify(tags).replace(/"/g, "'")}"`;
  const csv = (n: number) => `tokens,tags\n${Array.from({ length: n }, () => row).join('\n')}\n`;
  await writeFile(join(dataDir, 'train.csv'), csv(2 * ROWS));
  await writeFile(join(dataDir, 'val.csv'), csv(1));
  await writeFile(join(dataDir, 'test.csv'), csv(1));
  for (const f of ['vocab.txt', 'tokenizer_config.json', 'special_tokens_map.json'])
    await copyFile(join(QUICKSTART_MODEL, f), join(modelDir, f));
  await writeFile(
    join(modelDir, 'config.json'),
    JSON.stringify({
      model_type: 'bert',
      vocab_size: 1090,
      hidden_size: 16,
      num_hidden_layers: 1,
      num_attention_heads: 16,
      intermediate_size: 16,
      max_position_embeddings: SEQ,
      hidden_dropout_prob: 0,
      attention_probs_dropout_prob: 0,
    }),
  );
  return { dataDir, modelDir };
}

test('heap exhaustion ends every worker with the guard error naming step, shape and plan', async () => {
  const { dataDir, modelDir } = await writeFixture();
  const out = join(root, 'out');
  const started = Date.now();
  const r = spawnSync(
    process.execPath,
    [
      BIN,
      '--cpu',
      '--num_processes',
      '2',
      '--main_process_port',
      '0',
      '--backend',
      'wasm',
      'train',
      '--data_path',
      dataDir,
      '--model_name_or_path',
      modelDir,
      '--save_model_path',
      out,
      '--batch_size',
      String(ROWS),
      '--max_len',
      String(SEQ),
      '--epochs',
      '1',
      '--memory_limit_mb',
      '10000000',
    ],
    {
      encoding: 'utf8',
      cwd: REPO_ROOT,
      timeout: 240_000,
      env: { ...process.env, NER_LOG_LEVEL: 'warn' },
    },
  );
  const seconds = (Date.now() - started) / 1000;
  assert.notEqual(r.status, 0, `the run should fail:\n${r.stderr.slice(-3000)}`);
  const explained = r.stderr.match(
    /Out of tensor memory at step 1, batch shape \[256, 512\]: the memory plan estimated [\d.]+ [GT]iB against a limit of [\d.]+ GiB \(256 sentence\(s\) at a time\)/g,
  );
  assert.ok(explained && explained.length >= 1, r.stderr.slice(-3000));
  assert.match(r.stderr, /Lower --batch_size or --max_len/);
  // Both ranks hit the wall on their own batch and each says so; the launcher reports the group.
  for (const rank of [0, 1])
    assert.match(
      r.stderr,
      new RegExp(`\\[rank ${rank}\\] ner-launch train: error: Out of tensor memory`),
    );
  assert.match(r.stderr, /worker group failed/);
  assert.ok(!existsSync(join(out, 'config.json')), 'no model written');
  assert.ok(seconds < 200, `took ${seconds} s`);
});
