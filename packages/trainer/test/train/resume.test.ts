/**
 * Resume: a run interrupted after optimizer step K and resumed from its latest training
 * checkpoint ends bit-identical (CPU/wasm) to the uninterrupted run: final weights, the best
 * model and every metrics.json figure. Classifier dropout is on, so the dropout stream's
 * position is part of what must be restored. On the tensorflow backend too, where parameters,
 * gradients and AdamW moments are device tensors. Also: save_total_limit pruning, and incomplete
 * checkpoints are refused by name (explicit path) or skipped (latest).
 */
import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { createLogger } from '@ner-launch/common';
import { Accelerator, SingleProcessGroup, standaloneWorkerEnv } from '@ner-launch/worker';
import { loadPretrained } from '../../src/model/weights/checkpoint-dir.js';
import { readSafetensors } from '../../src/model/weights/safetensors.js';
import { runTraining } from '../../src/train/run-training.js';
import { resolveTrainOptions, type TrainOptions } from '../../src/train/train-options.js';
import {
  checkpointsRoot,
  latestCompleteCheckpoint,
  listCheckpointDirs,
} from '../../src/train/training-checkpoint.js';
import { CONFORMANCE_BACKENDS } from '../../../../test/support/backends.js';
import { makeTinyTrainingFixture } from '../../../../test/support/tiny-training.js';

const root = await mkdtemp(join(tmpdir(), 'train-resume-'));
after(() => rm(root, { recursive: true, force: true }));
const { dataDir, modelDir } = await makeTinyTrainingFixture(root);

const quiet = createLogger();
quiet.level = 'silent';

class Interrupt extends Error {}

async function options(name: string, extra: Record<string, unknown> = {}): Promise<TrainOptions> {
  return resolveTrainOptions(
    {
      data_path: dataDir,
      model_name_or_path: modelDir,
      save_model_path: join(root, name),
      max_len: 64,
      batch_size: 8,
      learning_rate: 0.005,
      epochs: 2,
      save_steps: 2,
      classifier_dropout: 0.2,
      backend: 'wasm',
      ...extra,
    },
    {},
  );
}

async function bytesOf(path: string): Promise<Map<string, Buffer>> {
  const { tensors } = await readSafetensors(path);
  return new Map(
    [...tensors].map(([n, t]) => [
      n,
      Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength),
    ]),
  );
}

function assertBitIdentical(a: Map<string, Buffer>, b: Map<string, Buffer>, what: string): void {
  assert.deepEqual([...a.keys()].sort(), [...b.keys()].sort());
  for (const [name, x] of a) assert.ok(x.equals(b.get(name)!), `${what}: ${name} differs`);
}

async function bestModel(dir: string): Promise<Map<string, Buffer>> {
  const checkpoint = await loadPretrained(dir);
  return new Map(
    [...checkpoint.stateDict].map(([n, t]) => [
      n,
      Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength),
    ]),
  );
}

const full = await options('full');
const fullOutcome = await runTraining(full, { log: quiet });

test('a run keeps save_total_limit training checkpoints, each with a manifest', async () => {
  // 48 sentences / batch 8 = 6 steps per epoch; save_steps 2 and epoch ends: 2,4,6,8,10,12.
  const dirs = await listCheckpointDirs(checkpointsRoot(full.save_model_path));
  assert.deepEqual(
    dirs.map((d) => d.step),
    [10, 12],
  );
  for (const { dir } of dirs)
    assert.deepEqual((await readdir(dir)).sort(), [
      'manifest.json',
      'model.safetensors',
      'optimizer.safetensors',
      'state.json',
    ]);
  assert.equal(fullOutcome.optimizerSteps, 12);
});

/** Interrupts `o`'s run after optimizer step `stopAfter`, resumes it, and compares with `full`. */
async function assertResumeBitIdentical(
  o: TrainOptions,
  stopAfter: number,
  full: TrainOptions,
  fullOutcome: Awaited<ReturnType<typeof runTraining>>,
): Promise<void> {
  await assert.rejects(
    runTraining(o, {
      log: quiet,
      afterOptimizerStep: (step) => {
        if (step === stopAfter) throw new Interrupt(`stop after step ${stopAfter}`);
      },
    }),
    Interrupt,
  );
  const outcome = await runTraining({ ...o, resume_from_checkpoint: 'latest' }, { log: quiet });
  assert.equal(outcome.optimizerSteps, 12);
  assert.deepEqual(outcome.history, fullOutcome.history);
  assert.deepEqual(outcome.test, fullOutcome.test);
  const metrics = (p: string) => readFile(join(p, 'metrics.json'), 'utf8');
  assert.equal(await metrics(o.save_model_path), await metrics(full.save_model_path));
  const final = (dir: string, file: string) => bytesOf(join(checkpointsRoot(dir), 'step-12', file));
  assertBitIdentical(
    await final(o.save_model_path, 'model.safetensors'),
    await final(full.save_model_path, 'model.safetensors'),
    'final weights',
  );
  assertBitIdentical(
    await final(o.save_model_path, 'optimizer.safetensors'),
    await final(full.save_model_path, 'optimizer.safetensors'),
    'final AdamW moments',
  );
  assertBitIdentical(
    await bestModel(o.save_model_path),
    await bestModel(full.save_model_path),
    'best model',
  );
}

for (const stopAfter of [5, 8])
  test(`interrupted after step ${stopAfter} and resumed from latest: bit-identical weights and metrics`, async () => {
    await assertResumeBitIdentical(
      await options(`stopped-${stopAfter}`),
      stopAfter,
      full,
      fullOutcome,
    );
  });

const tensorflow = CONFORMANCE_BACKENDS.find((b) => b.backend === 'tensorflow')!;
test(
  'on tensorflow (parameters, gradients and AdamW on the device) a resumed run is bit-identical too',
  { skip: tensorflow.skip },
  async () => {
    const fullTf = await options('full-tensorflow', { backend: 'tensorflow' });
    const fullTfOutcome = await runTraining(fullTf, { log: quiet });
    await assertResumeBitIdentical(
      await options('stopped-tensorflow', { backend: 'tensorflow' }),
      5,
      fullTf,
      fullTfOutcome,
    );
  },
);

test('a checkpoint without its manifest is refused by path and skipped by latest', async () => {
  const o = await options('incomplete');
  const ckRoot = checkpointsRoot(o.save_model_path);
  await cp(checkpointsRoot(full.save_model_path), ckRoot, { recursive: true });
  await rm(join(ckRoot, 'step-12', 'manifest.json'));
  await assert.rejects(
    runTraining({ ...o, resume_from_checkpoint: join(ckRoot, 'step-12') }, { log: quiet }),
    (error: Error) =>
      error.name === 'UsageError' &&
      /step-12 is incomplete or damaged: no manifest\.json/.test(error.message),
  );
  assert.equal(await latestCompleteCheckpoint(ckRoot), join(ckRoot, 'step-10'));
});

test('a checkpoint whose file was altered fails its checksum', async () => {
  const ckRoot = join(root, 'damaged');
  await cp(checkpointsRoot(full.save_model_path), ckRoot, { recursive: true });
  const state = join(ckRoot, 'step-12', 'state.json');
  const text = await readFile(state, 'utf8');
  const { writeFile } = await import('node:fs/promises');
  await writeFile(state, text.replace('"step":12', '"step":13'));
  const warnings: string[] = [];
  assert.equal(
    await latestCompleteCheckpoint(ckRoot, (m) => warnings.push(m)),
    join(ckRoot, 'step-10'),
  );
  assert.match(warnings[0] ?? '', /state\.json fails its SHA-256 check/);
});

test('a checkpoint from another batch size is refused, naming the difference', async () => {
  const o = await options('other-batch', {
    batch_size: 4,
    resume_from_checkpoint: join(checkpointsRoot(full.save_model_path), 'step-10'),
  });
  await assert.rejects(runTraining(o, { log: quiet }), /batch_size 8 there, 4 now/);
});

test('after a launcher restart only a checkpoint of the same launch is resumed', async () => {
  const o = await options('restart');
  await cp(full.save_model_path, o.save_model_path, { recursive: true });
  // The full run above ran standalone (run token ''); a restart of that launch resumes its
  // finished step-12 checkpoint (no optimizer step left), another launch starts from scratch.
  const stepsTaken = async (runToken: string): Promise<number> => {
    const accelerator = await Accelerator.create({
      env: { ...standaloneWorkerEnv(), restartCount: 1, runToken },
      group: new SingleProcessGroup(),
    });
    let steps = 0;
    try {
      await runTraining(o, { log: quiet, accelerator, afterOptimizerStep: () => void steps++ });
    } finally {
      await accelerator.end();
    }
    return steps;
  };
  assert.equal(await stepsTaken(''), 0);
  assert.equal(await stepsTaken('another-launch'), 12);
});
