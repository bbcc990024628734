/**
 * DDP equivalence, as PyTorch's DDP tests: N workers at per-worker batch b (gradients
 * averaged by bucketed ring all-reduce, then global-norm clipping) follow the same
 * trajectory as one worker at batch N·b on the same data order. Tolerance: max abs ≤ 1e-5
 * on every parameter after 5 and after 50 SGD steps (float32 summation order differs);
 * across the N ranks the parameters must be bit-identical.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Accelerator, standaloneWorkerEnv } from '@ner-launch/worker';
import { describeFailures, spawnWorkers } from '../support/spawn-workers.js';
import { initParams, loss, syntheticData, trainTinyMlp } from '../support/tiny-mlp.js';

const worker = fileURLToPath(new URL('../fixtures/ddp-mlp-worker.ts', import.meta.url));
const PER_WORKER_BATCH = 2;

for (const n of [2, 4]) {
  test(`${n} workers at batch ${PER_WORKER_BATCH} match 1 worker at batch ${n * PER_WORKER_BATCH} after 5 and 50 steps, all ranks bit-identical`, async (t) => {
    const single = await Accelerator.create({ env: standaloneWorkerEnv() });
    const reference = await trainTinyMlp(single, n * PER_WORKER_BATCH, 50, [5, 50]);
    await single.end();
    const results = await spawnWorkers({
      worldSize: n,
      script: worker,
      args: [String(PER_WORKER_BATCH)],
    });
    assert.ok(
      results.every((r) => r.code === 0),
      describeFailures(results),
    );
    const reports = results.map(
      (r) =>
        JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { snapshots: Record<number, number[]> },
    );
    for (const step of [5, 50]) {
      const got = reports[0].snapshots[step];
      const want = reference[step];
      assert.equal(got.length, want.length);
      const maxAbs = Math.max(...got.map((v, i) => Math.abs(v - want[i])));
      t.diagnostic(`after ${step} steps: max abs diff ${maxAbs.toExponential(2)}`);
      assert.ok(maxAbs <= 1e-5, `after ${step} steps max abs diff ${maxAbs}`);
      for (const report of reports.slice(1))
        assert.deepEqual(report.snapshots[step], got, `ranks differ after ${step} steps`);
    }
  });
}

test('the tiny MLP actually learns, so the equivalence compares a moving trajectory', async () => {
  const single = await Accelerator.create({ env: standaloneWorkerEnv() });
  const { x, y } = syntheticData();
  const before = initParams(99);
  const snapshots = await trainTinyMlp(single, 8, 50, [50]);
  await single.end();
  const after = new Map<string, Float32Array>();
  let offset = 0;
  for (const [name, p] of before) {
    after.set(name, Float32Array.from(snapshots[50].slice(offset, offset + p.length)));
    offset += p.length;
  }
  const lossBefore = loss(before, x, y);
  const lossAfter = loss(after, x, y);
  assert.ok(lossAfter < 0.8 * lossBefore, `loss ${lossBefore} -> ${lossAfter}`);
});
