/**
 * The memory plan inside `train` and `predict` (issue 7): a limit that forces micro-batches
 * (or recomputation) leaves the results as the full batch gives them, the plan is logged
 * before the first step, a limit nothing fits stops the run before training with the plan's
 * error, and the memory flags are checked. Tiny from-scratch BERT with dropout 0, so runs that
 * slice the same batches differently agree to float32 rounding (bar: 1e-5).
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { pino } from 'pino';
import { UsageError, type Logger } from '@ner-launch/common';
import { estimateMemory } from '../../src/memory/memory-estimate.js';
import { MemoryPlanError } from '../../src/memory/memory-plan.js';
import { loadPretrained } from '../../src/model/weights/checkpoint-dir.js';
import { runPredict } from '../../src/predict/run-predict.js';
import { runTraining } from '../../src/train/run-training.js';
import { resolveTrainOptions, type TrainOptions } from '../../src/train/train-options.js';
import { makeTinyTrainingFixture } from '../../../../test/support/tiny-training.js';

const root = await mkdtemp(join(tmpdir(), 'train-memory-'));
after(() => rm(root, { recursive: true, force: true }));
const { dataDir, modelDir } = await makeTinyTrainingFixture(root);
// Every sentence of the fixture is longer than this, so every batch is padded to it.
const MAX_LEN = 16;
const BATCH = 8;

function capturingLogger(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const log = pino(
    { level: 'info' },
    { write: (line: string) => void lines.push(JSON.parse(line).msg as string) },
  );
  return { log, lines };
}

async function options(name: string, extra: Record<string, unknown>): Promise<TrainOptions> {
  return resolveTrainOptions(
    {
      data_path: dataDir,
      model_name_or_path: modelDir,
      save_model_path: join(root, name),
      max_len: MAX_LEN,
      batch_size: BATCH,
      learning_rate: 0.005,
      epochs: 2,
      backend: 'wasm',
      ...extra,
    },
    {},
  );
}

async function weights(dir: string): Promise<Map<string, Float32Array>> {
  const checkpoint = await loadPretrained(dir);
  return new Map([...checkpoint.stateDict].map(([name, t]) => [name, t.data]));
}

async function maxWeightDifference(a: string, b: string): Promise<number> {
  const wa = await weights(a);
  const wb = await weights(b);
  let worst = 0;
  for (const [name, x] of wa) {
    const y = wb.get(name)!;
    for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i]! - y[i]!));
  }
  return worst;
}

const { log: fullLog, lines: fullLines } = capturingLogger();
const fullOptions = await options('full', {});
const full = await runTraining(fullOptions, { log: fullLog });

/** A limit between the estimates of one sentence and of the whole batch at MAX_LEN. */
async function limitForcingSlices(): Promise<number> {
  // The trained model's config: the fixture's own folder holds no weights to load.
  const { config } = await loadPretrained(fullOptions.save_model_path);
  const at = (rows: number) =>
    estimateMemory(config, { rows, seqLen: MAX_LEN, mode: 'train', recompute: false }).heapBytes;
  return (at(2) + at(BATCH)) / 2 / 2 ** 20;
}

function assertSameRun(
  a: Awaited<ReturnType<typeof runTraining>>,
  b: Awaited<ReturnType<typeof runTraining>>,
) {
  assert.equal(a.optimizerSteps, b.optimizerSteps);
  for (const [i, record] of a.history.entries())
    for (const [key, value] of Object.entries(record))
      assert.ok(
        Math.abs(value - b.history[i]![key as keyof typeof record]) <= 1e-5,
        `epoch ${i + 1} ${key}: ${value} vs ${b.history[i]![key as keyof typeof record]}`,
      );
  assert.ok(Math.abs(a.test!.loss - b.test!.loss) <= 1e-5, 'test loss');
  assert.ok(Math.abs(a.test!.overall_f1 - b.test!.overall_f1) <= 1e-5, 'test F1');
}

test('the plan is logged before the first step; the full batch fits without a limit', () => {
  const planLines = fullLines.filter((line) => line.startsWith('Memory plan'));
  assert.equal(planLines.length, 2, planLines.join('\n'));
  assert.match(
    planLines[0]!,
    /^Memory plan \(training, 8 x 16\): estimated peak .* full batch fits$/,
  );
  assert.match(planLines[1]!, /^Memory plan \(evaluation, 8 x 16\)/);
  const firstStep = fullLines.findIndex((line) => line.startsWith('Epoch 0 | Batch 0'));
  assert.ok(firstStep > fullLines.indexOf(planLines[1]!), 'plan before training');
});

test('a memory limit that forces micro-batches gives the full-batch results (1e-5)', async () => {
  const limit = await limitForcingSlices();
  const { log, lines } = capturingLogger();
  const o = await options('limited', { memory_limit_mb: limit });
  const sliced = await runTraining(o, { log });
  const plan = lines.find((line) => line.startsWith('Memory plan (training'))!;
  const rows = Number(/so it runs (\d+) sentence\(s\) at a time/.exec(plan)?.[1]);
  assert.ok(rows >= 2 && rows < BATCH, `expected automatic micro-batches: ${plan}`);
  assertSameRun(full, sliced);
  const diff = await maxWeightDifference(fullOptions.save_model_path, o.save_model_path);
  assert.ok(diff <= 1e-5, `max abs weight difference ${diff}`);
});

test('forced micro-batches of 3 with per-layer recomputation give the full-batch results (1e-5)', async () => {
  const o = await options('recompute', { micro_batch_size: 3, recompute: 'on' });
  const { log, lines } = capturingLogger();
  const sliced = await runTraining(o, { log });
  const plan = lines.find((line) => line.startsWith('Memory plan (training'))!;
  assert.match(
    plan,
    /runs 3 sentence\(s\) at a time \(3 slices accumulated, same result\) with per-layer activation recomputation/,
  );
  assertSameRun(full, sliced);
  const diff = await maxWeightDifference(fullOptions.save_model_path, o.save_model_path);
  assert.ok(diff <= 1e-5, `max abs weight difference ${diff}`);
});

test('a limit nothing fits stops before training with the estimate, the limit and what to change', async () => {
  const o = await options('too-small', { memory_limit_mb: 1 });
  await assert.rejects(runTraining(o, { log: capturingLogger().log }), (error: unknown) => {
    assert.ok(error instanceof MemoryPlanError, String(error));
    assert.match(
      error.message,
      /^Memory plan: training at 8 x 16 tokens does not fit on backend wasm: estimated peak .* per process even down to 1 sentence at a time with layer recomputation .* limit 1 MiB \(the given memory limit\)\. Change: a shorter --max_len/,
    );
    return true;
  });
  assert.ok(!existsSync(join(o.save_model_path, 'config.json')), 'no model written');
  assert.ok(!existsSync(join(o.save_model_path, 'metrics.json')), 'no metrics written');
});

test('memory flags are range-checked and name the flag', async () => {
  for (const [flags, name] of [
    [{ memory_limit_mb: 0 }, 'memory_limit_mb'],
    [{ micro_batch_size: 0 }, 'micro_batch_size'],
    [{ micro_batch_size: 2.5 }, 'micro_batch_size'],
    [{ recompute: 'sometimes' }, 'recompute'],
  ] as const)
    await assert.rejects(options('bad-flag', flags), (error: unknown) => {
      assert.ok(error instanceof UsageError, String(error));
      assert.equal(error.flag, name);
      assert.match(error.message, new RegExp(`^--${name}`));
      return true;
    });
});

test('predict in slices under a memory limit tags exactly as whole batches do', async () => {
  const input = join(root, 'predict.csv');
  await writeFile(input, await readFile(join(dataDir, 'test.csv'), 'utf8'));
  const run = async (output: string, memoryLimitMb?: number) => {
    await runPredict({
      model: fullOptions.save_model_path,
      input,
      output,
      batchSize: 8,
      maxLen: MAX_LEN,
      backend: 'wasm',
      progress: false,
      memoryLimitMb,
    });
    return readFile(output, 'utf8');
  };
  const { config } = await loadPretrained(fullOptions.save_model_path);
  const at = (rows: number) =>
    estimateMemory(config, { rows, seqLen: MAX_LEN, mode: 'eval', recompute: false }).heapBytes;
  const whole = await run(join(root, 'whole.csv'));
  const sliced = await run(join(root, 'sliced.csv'), (at(2) + at(8)) / 2 / 2 ** 20);
  assert.equal(sliced, whole);
  await assert.rejects(run(join(root, 'never.csv'), 1), MemoryPlanError);
  assert.ok(!existsSync(join(root, 'never.csv')), 'no output after the plan error');
});
