/**
 * Resume through the launcher: a worker SIGKILLed mid-training with `--max_restarts 1` makes
 * the launcher restart the group (NER_RESTART_COUNT=1), which resumes from the latest complete
 * training checkpoint and ends with weights bit-identical to an uninterrupted run; and rank 0
 * SIGKILLed while writing a checkpoint (max_restarts 0) leaves no step-<N> directory for it,
 * only a hidden temp directory without a manifest, which resume never picks.
 * Faults come from the trainer's NER_TEST_CRASH_* hooks (first attempt only).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import {
  checkpointsRoot,
  readSafetensors,
  latestCompleteCheckpoint,
  listCheckpointDirs,
  verifyTrainingCheckpoint,
} from '@ner-launch/trainer';
import { makeTinyTrainingFixture } from '../support/tiny-training.js';
import { REPO_ROOT } from '../support/python.js';

const BIN = join(REPO_ROOT, 'packages', 'launcher', 'bin', 'ner-launch.mjs');
const root = await mkdtemp(join(tmpdir(), 'train-resume-launcher-'));
after(() => rm(root, { recursive: true, force: true }));
const fixture = await makeTinyTrainingFixture(root);

function launch(
  processes: number,
  out: string,
  launchFlags: string[],
  env: Record<string, string>,
): { status: number | null; stderr: string } {
  const r = spawnSync(
    process.execPath,
    [
      BIN,
      '--cpu',
      '--num_processes',
      String(processes),
      '--main_process_port',
      '0',
      '--backend',
      'wasm',
      ...launchFlags,
      'train',
      '--data_path',
      fixture.dataDir,
      '--model_name_or_path',
      fixture.modelDir,
      '--save_model_path',
      out,
      '--epochs',
      '2',
      '--batch_size',
      '4',
      '--learning_rate',
      '0.005',
      '--max_len',
      '64',
      '--classifier_dropout',
      '0.2',
      '--save_steps',
      '2',
    ],
    {
      encoding: 'utf8',
      cwd: REPO_ROOT,
      timeout: 240_000,
      env: { ...process.env, NER_LOG_LEVEL: 'warn', ...env },
    },
  );
  return { status: r.status, stderr: r.stderr };
}

async function finalWeights(out: string): Promise<Map<string, Float32Array>> {
  const last = await latestCompleteCheckpoint(checkpointsRoot(out));
  assert.ok(last, `no checkpoint in ${out}`);
  return new Map(
    [...(await readSafetensors(join(last, 'model.safetensors'))).tensors].map(([n, t]) => [
      n,
      t.data,
    ]),
  );
}

test('a worker killed mid-training with --max_restarts 1 resumes to the uninterrupted weights', async () => {
  const clean = join(root, 'clean');
  const crashed = join(root, 'crashed');
  const a = launch(2, clean, [], {});
  assert.equal(a.status, 0, a.stderr.slice(-3000));
  // 48 sentences, 2 x batch 4: 6 steps per epoch; checkpoints at 2, 4, 6, ...; rank 1 dies
  // after step 5, the restart resumes from step 4.
  const b = launch(2, crashed, ['--max_restarts', '1'], { NER_TEST_CRASH_AFTER_STEP: '5:1' });
  assert.equal(b.status, 0, b.stderr.slice(-3000));
  assert.match(b.stderr, /launcher restart 1: resuming from \S*step-4/);
  const wa = await finalWeights(clean);
  const wb = await finalWeights(crashed);
  for (const [name, x] of wa) {
    const y = wb.get(name)!;
    assert.ok(
      Buffer.from(x.buffer, x.byteOffset, x.byteLength).equals(
        Buffer.from(y.buffer, y.byteOffset, y.byteLength),
      ),
      `${name} differs after resume`,
    );
  }
  // Each rank's step losses are its own share of the global loss: a resume in the middle of an
  // epoch must still report the global figures (metrics.json history, steps.jsonl) exactly.
  for (const file of ['metrics.json', 'steps.jsonl'])
    assert.equal(
      await readFile(join(crashed, file), 'utf8'),
      await readFile(join(clean, file), 'utf8'),
      `${file} differs after resume`,
    );
});

test('kill -9 during a checkpoint write leaves no step directory that looks complete', async () => {
  const out = join(root, 'killed-in-save');
  const r = launch(1, out, [], { NER_TEST_CRASH_IN_CHECKPOINT: '4' });
  assert.notEqual(r.status, 0, 'the worker was killed, the launch must fail');
  const ckRoot = checkpointsRoot(out);
  const dirs = await listCheckpointDirs(ckRoot);
  assert.deepEqual(
    dirs.map((d) => d.step),
    [2],
    'step-4 was being written: it must not appear',
  );
  for (const { dir } of dirs) await verifyTrainingCheckpoint(dir);
  const leftovers = (await readdir(ckRoot)).filter((name) => name.startsWith('.step-4'));
  assert.equal(leftovers.length, 1, 'the killed writer left its hidden temp directory');
  await assert.rejects(verifyTrainingCheckpoint(join(ckRoot, leftovers[0])), /no manifest\.json/);
  assert.equal(await latestCompleteCheckpoint(ckRoot), join(ckRoot, 'step-2'));
});
