/**
 * tools/parity/compare-runs.ts: steps.jsonl reading, per-step loss tolerance, loss-curve
 * buckets and the F1 bar of the parity comparison.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import {
  bucketMeans,
  compareStepLosses,
  formatComparison,
  readRunFiles,
  readSteps,
  type StepRecord,
} from '../../../tools/parity/compare-runs.js';

const root = await mkdtemp(join(tmpdir(), 'compare-runs-'));
after(() => rm(root, { recursive: true, force: true }));

const steps = (losses: number[]): StepRecord[] =>
  losses.map((loss, i) => ({ step: i + 1, epoch: 1, loss, lr: 1e-5 * i }));

async function writeRun(name: string, f1: number, losses: number[]): Promise<string> {
  const dir = join(root, name);
  await mkdir(dir, { recursive: true });
  const epoch = {
    epoch: 1,
    train_loss: 1,
    train_accuracy: 0.9,
    train_f1: 0.5,
    val_loss: 0.5,
    val_accuracy: 0.9,
    val_f1: 0.6,
    lr: 1e-5,
  };
  const testFigures = {
    loss: 0.4,
    overall_precision: f1,
    overall_recall: f1,
    overall_f1: f1,
    overall_accuracy: 0.95,
    per_class: {},
    without_O: { overall_precision: f1, overall_recall: f1, overall_f1: f1, overall_accuracy: 0.9 },
  };
  await writeFile(
    join(dir, 'metrics.json'),
    JSON.stringify({ history: [epoch], test: testFigures }),
  );
  await writeFile(
    join(dir, 'steps.jsonl'),
    steps(losses)
      .map((s) => JSON.stringify(s))
      .join('\n') + '\n',
  );
  await writeFile(join(dir, 'run.json'), JSON.stringify({ wall_seconds: 10, train_tokens: 1000 }));
  return dir;
}

test('readSteps names the file and line of a bad record', async () => {
  const file = join(root, 'bad.jsonl');
  await writeFile(file, '{"step":1,"epoch":1,"loss":2,"lr":0}\n{"step":2,"epoch":1,"lr":0}\n');
  assert.throws(() => readSteps(file), new RegExp(`${file}:2: "loss" missing`));
  await writeFile(file, 'nope\n');
  assert.throws(() => readSteps(file), /bad\.jsonl:1: not JSON/);
});

test('compareStepLosses flags exactly the steps outside atol + rtol x |reference|', () => {
  const c = compareStepLosses(steps([1, 2, 3]), steps([1.0005, 2, 3.01]), { rtol: 1e-3, atol: 0 });
  assert.equal(c.compared, 3);
  assert.deepEqual(
    c.failures.map((f) => f.step),
    [3],
  );
  assert.ok(Math.abs(c.maxAbsDiff - 0.01) < 1e-12);
  assert.throws(
    () => compareStepLosses(steps([1]), steps([1, 2]), { rtol: 1, atol: 0 }),
    /step counts differ/,
  );
});

test('bucketMeans averages equal consecutive runs of steps', () => {
  assert.deepEqual(bucketMeans(steps([1, 3, 5, 7]), 2), [2, 6]);
  assert.deepEqual(bucketMeans(steps([4]), 5), [4]);
});

test('formatComparison passes within 1.0 F1 point and fails beyond it', async () => {
  const ref = readRunFiles(await writeRun('ref', 0.8, [2, 1]));
  const near = readRunFiles(await writeRun('near', 0.805, [2, 1]));
  const far = readRunFiles(await writeRun('far', 0.78, [2, 1.5]));
  const options = { buckets: 2, maxF1Diff: 1, oursWall: 20 };
  const ok = formatComparison(near, ref, options);
  assert.equal(ok.ok, true);
  assert.ok(Math.abs(ok.f1DiffPoints - 0.5) < 1e-9);
  assert.match(ok.text, /ours 20\.0 s, 50 tokens\/s \| reference 10\.0 s, 100 tokens\/s/);
  const bad = formatComparison(far, ref, options);
  assert.equal(bad.ok, false);
  assert.match(bad.text, /-2\.00 points; bar ±1: FAIL/);
  assert.match(bad.text, /max \|diff\| 5\.000e-1/);
});

test('readRunFiles says which metrics.json is missing', () => {
  assert.throws(() => readRunFiles(join(root, 'nothing')), /nothing\/metrics\.json: not found/);
});
