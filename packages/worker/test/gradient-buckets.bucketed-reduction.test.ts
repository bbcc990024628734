import assert from 'node:assert/strict';
import { setImmediate as tick } from 'node:timers/promises';
import { test } from 'node:test';
import { Accelerator } from '../src/accelerator.js';
import { GradientBucketer } from '../src/gradient-buckets.js';
import type { ProcessGroup } from '../src/process-group.js';
import { digest } from '../src/self-test.js';
import { standaloneWorkerEnv } from '../src/worker-env.js';
import { startGroups } from './support/in-process-groups.js';

/** A group of "2 ranks" whose all-reduce records the bucket sizes and multiplies by 10. */
function recordingGroup(calls: number[], fail?: Error): ProcessGroup {
  return {
    rank: 0,
    worldSize: 2,
    allocateBuffer: (length: number) => new Float32Array(length),
    releaseBuffer: () => undefined,
    allReduce: (data: Float32Array) => {
      calls.push(data.length);
      if (fail) return Promise.reject(fail);
      for (let i = 0; i < data.length; i++) data[i] *= 10;
      return Promise.resolve(data);
    },
  } as unknown as ProcessGroup;
}

// Buckets of 16 bytes (4 floats): [a(2), b(2)], [c(3)], [d(4)].
const SIZES = [
  ['a', 2],
  ['b', 2],
  ['c', 3],
  ['d', 4],
] as const;
const gradients = (): Map<string, Float32Array> =>
  new Map(SIZES.map(([name, n]) => [name, new Float32Array(n).fill(name.charCodeAt(0) - 96)]));

test("a bucket's all-reduce starts as soon as its last gradient is handed in, before the caller hands in the rest", async () => {
  const calls: number[] = [];
  const grads = gradients();
  const reduction = new GradientBucketer(recordingGroup(calls), 16).begin(SIZES);
  reduction.add('a', grads.get('a')!);
  await tick();
  assert.deepEqual(calls, [], 'bucket 0 is not complete yet');
  reduction.add('b', grads.get('b')!);
  await tick();
  assert.deepEqual(calls, [4], 'bucket 0 started while c and d are still being computed');
  // Written back into the caller's arrays once its bucket is reduced, before done().
  assert.deepEqual([...grads.get('a')!], [10, 10]);
  reduction.add('c', grads.get('c')!);
  reduction.add('d', grads.get('d')!);
  await reduction.done();
  assert.deepEqual(calls, [4, 3, 4]);
  assert.deepEqual([...grads.get('c')!], [30, 30, 30]);
  assert.deepEqual([...grads.get('d')!], [40, 40, 40, 40]);
});

test('a bucket completed early waits for the buckets before it, so every rank runs the same collectives in plan order', async () => {
  const calls: number[] = [];
  const grads = gradients();
  const reduction = new GradientBucketer(recordingGroup(calls), 16).begin(SIZES);
  reduction.add('d', grads.get('d')!);
  reduction.add('c', grads.get('c')!);
  await tick();
  assert.deepEqual(calls, []);
  reduction.add('b', grads.get('b')!);
  reduction.add('a', grads.get('a')!);
  await reduction.done();
  assert.deepEqual(calls, [4, 3, 4]);
});

test('misuse is refused with the gradient named: undeclared, twice, wrong length, never handed in, overlapping reductions', async () => {
  const bucketer = new GradientBucketer(recordingGroup([]), 16);
  const reduction = bucketer.begin(SIZES);
  assert.throws(() => reduction.add('z', new Float32Array(1)), /'z' was not declared/);
  assert.throws(() => reduction.add('a', new Float32Array(5)), /'a' has 5 values; 2 were declared/);
  assert.throws(() => bucketer.begin(SIZES), /before the previous one was done/);
  reduction.add('b', new Float32Array(2));
  assert.throws(() => reduction.add('b', new Float32Array(2)), /'b' was handed in twice/);
  await assert.rejects(reduction.done(), /never handed in: a, c, d/);
  // Once done settled, the next step may begin.
  assert.ok(bucketer.begin(SIZES));
});

test("a failed bucket all-reduce rejects done() with the group's error", async () => {
  const reduction = new GradientBucketer(recordingGroup([], new Error('peer lost')), 16).begin(
    SIZES,
  );
  for (const [name, g] of gradients()) reduction.add(name, g);
  await assert.rejects(reduction.done(), /peer lost/);
});

test('over 2 real ranks handing gradients in different orders, the result equals reduceGradients and is bit-identical', async () => {
  const groups = await startGroups(2);
  const accs = await Promise.all(
    groups.map((group) =>
      Accelerator.create({
        group,
        env: { ...standaloneWorkerEnv(), rank: group.rank, worldSize: 2 },
        bucketBytes: 4096,
      }),
    ),
  );
  const sizes = Array.from({ length: 12 }, (_, i) => [`layer${i}`, 300 + 37 * i] as const);
  const make = (rank: number): Map<string, Float32Array> =>
    new Map(
      sizes.map(([name, n], i) => [
        name,
        new Float32Array(n).map((_, j) => Math.sin(j * 0.37 + i + rank * 11)),
      ]),
    );
  const viaReduce = [make(0), make(1)];
  await Promise.all(accs.map((acc, r) => acc.reduceGradients(viaReduce[r])));
  const handedIn = [make(0), make(1)];
  await Promise.all(
    accs.map(async (acc, r) => {
      const reduction = acc.beginGradientReduce(sizes);
      const order = r === 0 ? [...sizes].reverse() : sizes;
      for (const [name] of order) {
        reduction.add(name, handedIn[r].get(name)!);
        await tick(); // the "backward" of the next layer runs meanwhile
      }
      await reduction.done();
    }),
  );
  for (const [name] of sizes) {
    assert.equal(digest(handedIn[0].get(name)!), digest(viaReduce[0].get(name)!), name);
    assert.equal(digest(handedIn[1].get(name)!), digest(handedIn[0].get(name)!), name);
  }
  await Promise.all(accs.map((acc) => acc.end()));
});
