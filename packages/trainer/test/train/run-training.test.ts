/**
 * The whole `train` job in one process on a slice of the quickstart data with a tiny
 * from-scratch BERT (hidden 16, 2 layers, dropout 0 so runs are comparable): outputs,
 * k validations, early stopping, frozen weights, gradient accumulation.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { createLogger } from '@ner-launch/common';
import { loadPretrained } from '../../src/model/weights/checkpoint-dir.js';
import { loadModelForTraining } from '../../src/train/model-setup.js';
import { runTraining } from '../../src/train/run-training.js';
import { resolveTrainOptions, type TrainOptions } from '../../src/train/train-options.js';
import { makeTinyTrainingFixture } from '../../../../test/support/tiny-training.js';

const root = await mkdtemp(join(tmpdir(), 'train-run-'));
after(() => rm(root, { recursive: true, force: true }));
const { dataDir, modelDir } = await makeTinyTrainingFixture(root);

const quiet = createLogger();
quiet.level = 'silent';

async function options(name: string, extra: Record<string, unknown>): Promise<TrainOptions> {
  return resolveTrainOptions(
    {
      data_path: dataDir,
      model_name_or_path: modelDir,
      save_model_path: join(root, name),
      max_len: 64,
      batch_size: 8,
      learning_rate: 0.005,
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

test('a run writes the best model, metrics.json, history.csv, plots and report.html', async () => {
  const o = await options('full', { epochs: 2, num_validate_during_training: 2 });
  const outcome = await runTraining(o, { log: quiet });
  assert.equal(outcome.history.length, 2);
  assert.deepEqual(outcome.validationCounts, [2, 2], 'k=2 validations per epoch');
  assert.equal(outcome.optimizerSteps, 12);
  const dir = o.save_model_path;
  const metrics = JSON.parse(await readFile(join(dir, 'metrics.json'), 'utf8'));
  assert.deepEqual(metrics.history, outcome.history);
  assert.deepEqual(Object.keys(metrics.test).sort(), [
    'loss',
    'overall_accuracy',
    'overall_f1',
    'overall_precision',
    'overall_recall',
    'per_class',
    'without_O',
  ]);
  assert.ok(metrics.test.loss > 0);
  const csv = (await readFile(join(dir, 'history.csv'), 'utf8')).trim().split('\n');
  assert.equal(csv.length, 3);
  for (const f of [
    'tr_val_loss.svg',
    'tr_val_acc.svg',
    'tr_val_f1.svg',
    'plots.html',
    'report.html',
  ])
    assert.ok((await readFile(join(dir, f))).length > 0, f);
  const saved = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8'));
  assert.equal(saved.id2label['0'], 'O');
  assert.ok((await weights(dir)).has('classifier.weight'));
  // The linear schedule ends at 0 after the last step.
  assert.equal(outcome.history[1].lr, (0.005 * 1) / (12 - 1));
});

test('patience stops training after patience epochs without validation-F1 improvement', async () => {
  // A learning rate too small to change any prediction: F1 never improves after epoch 1.
  const o = await options('patience', {
    epochs: 6,
    patience: 2,
    learning_rate: 1e-12,
    scheduler: 'none',
  });
  const outcome = await runTraining(o, { log: quiet });
  assert.equal(outcome.history.length, 3, 'epoch 1 saves, epochs 2 and 3 do not improve');
  assert.equal(outcome.bestEpoch, 1);
  assert.equal(outcome.stoppedEarly, true);
});

test('frozen embeddings and layers stay bit-identical; the rest trains', async () => {
  const o = await options('frozen', { epochs: 1, freeze_layers: 1 });
  await runTraining(o, { log: quiet });
  const initial = await loadModelForTraining(o, [
    'O',
    'B-DATE',
    'B-LOC',
    'B-ORG',
    'B-PER',
    'I-DATE',
    'I-LOC',
    'I-ORG',
    'I-PER',
  ]);
  const before = new Map([...initial.model.toStateDict()].map(([n, t]) => [n, t.data]));
  initial.model.dispose();
  const afterTraining = await weights(o.save_model_path);
  for (const [name, data] of afterTraining) {
    const frozen = name.startsWith('bert.embeddings.') || name.startsWith('bert.encoder.layer.0.');
    const same =
      Buffer.compare(
        Buffer.from(data.buffer, data.byteOffset, data.byteLength),
        Buffer.from(
          before.get(name)!.buffer,
          before.get(name)!.byteOffset,
          before.get(name)!.byteLength,
        ),
      ) === 0;
    if (frozen) assert.ok(same, `${name} is frozen and must not change`);
    else if (!name.startsWith('bert.pooler.') && !name.endsWith('LayerNorm.bias'))
      assert.ok(!same, `${name} should train`);
  }
});

test('gradient accumulation over 2 batches of 4 equals batches of 8 (max abs diff 1e-5)', async () => {
  const common = { epochs: 1, scheduler: 'none', learning_rate: 0.01 };
  const big = await options('accum-big', { ...common, batch_size: 8 });
  const small = await options('accum-small', {
    ...common,
    batch_size: 4,
    gradient_accumulation_steps: 2,
  });
  const a = await runTraining(big, { log: quiet });
  const b = await runTraining(small, { log: quiet });
  assert.equal(a.optimizerSteps, b.optimizerSteps);
  assert.ok(Math.abs(a.history[0].train_loss - b.history[0].train_loss) < 1e-5);
  const wa = await weights(big.save_model_path);
  const wb = await weights(small.save_model_path);
  let worst = 0;
  for (const [name, x] of wa) {
    const y = wb.get(name)!;
    for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i] - y[i]));
  }
  assert.ok(worst <= 1e-5, `max abs weight difference ${worst}`);
});

async function withMixedPrecision<T>(mode: string, run: () => Promise<T>): Promise<T> {
  process.env.NER_MIXED_PRECISION = mode;
  try {
    return await run();
  } finally {
    delete process.env.NER_MIXED_PRECISION;
  }
}

test('mixed precision: bf16 and fp16 gradients train close to fp32, fp16 with a loss scaler', async () => {
  const common = { epochs: 1, scheduler: 'none', learning_rate: 0.01 };
  const fp32 = await options('mp-fp32', common);
  const a = await runTraining(fp32, { log: quiet });
  const wa = await weights(fp32.save_model_path);
  for (const mode of ['bf16', 'fp16'] as const) {
    const o = await options(`mp-${mode}`, common);
    const b = await withMixedPrecision(mode, () => runTraining(o, { log: quiet }));
    // This tiny model's scaled gradients stay below fp16's max (65504): no step is skipped.
    assert.equal(b.optimizerSteps, a.optimizerSteps);
    assert.ok(Number.isFinite(b.history[0].train_loss));
    const wb = await weights(o.save_model_path);
    let worst = 0;
    let differs = false;
    for (const [name, x] of wa) {
      const y = wb.get(name)!;
      for (let i = 0; i < x.length; i++) {
        worst = Math.max(worst, Math.abs(x[i] - y[i]));
        differs ||= x[i] !== y[i];
      }
    }
    // Half-precision gradients (bf16: 8 mantissa bits, fp16: 11) change the weights slightly;
    // after 6 AdamW steps at lr 0.01 they stay within 0.01 of the fp32 run's.
    assert.ok(differs, `${mode} gradients must differ from fp32 ones`);
    assert.ok(worst < 0.01, `${mode} vs fp32 max abs weight difference ${worst}`);
    // The loss scaler's state travels in the training checkpoint: 2^16 for fp16, off for bf16.
    const state = JSON.parse(
      await readFile(join(o.save_model_path, 'checkpoints', 'step-6', 'state.json'), 'utf8'),
    );
    assert.equal(state.loop.lossScaler.scale, mode === 'fp16' ? 65536 : 1);
  }
});
