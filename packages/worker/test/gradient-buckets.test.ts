import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GradientBucketer, planBuckets } from '../src/gradient-buckets.js';
import type { ProcessGroup } from '../src/process-group.js';
import { SingleProcessGroup } from '../src/single-process-group.js';

test('gradients are packed in order into buckets no larger than the cap, an oversized one alone', () => {
  const plan = planBuckets(
    [
      ['a', 10],
      ['b', 15],
      ['c', 100],
      ['d', 5],
    ],
    100, // 25 floats
  );
  assert.deepEqual(
    plan.map((b) => b.slots.map((s) => `${s.name}@${s.offset}`)),
    [['a@0', 'b@10'], ['c@0'], ['d@0']],
  );
  assert.throws(
    () =>
      planBuckets([
        ['a', 1],
        ['a', 2],
      ]),
    /listed twice/,
  );
});

test('reduce runs one all-reduce per bucket and writes the results back into each gradient', async () => {
  const calls: number[] = [];
  const fakeGroup = {
    rank: 0,
    worldSize: 2,
    allocateBuffer: (length: number) => new Float32Array(length),
    releaseBuffer: () => undefined,
    allReduce: (data: Float32Array) => {
      calls.push(data.length);
      for (let i = 0; i < data.length; i++) data[i] *= 10;
      return Promise.resolve(data);
    },
  } as unknown as ProcessGroup;
  const grads = new Map([
    ['w1', new Float32Array([1, 2])],
    ['b1', new Float32Array([3])],
    ['w2', new Float32Array(30).fill(1)],
  ]);
  await new GradientBucketer(fakeGroup, 16).reduce(grads);
  assert.deepEqual(calls, [3, 30]);
  assert.deepEqual([...grads.get('w1')!], [10, 20]);
  assert.deepEqual([...grads.get('b1')!], [30]);
  assert.ok(grads.get('w2')!.every((v) => v === 10));
});

test('with one process the gradients are left untouched', async () => {
  const g = new Map([['w', new Float32Array([1.5])]]);
  await new GradientBucketer(new SingleProcessGroup()).reduce(g);
  assert.deepEqual([...g.get('w')!], [1.5]);
});

test("buckets are the group's own buffers, kept while the plan holds and given back when it changes or at the end", async () => {
  const allocated: Float32Array[] = [];
  const released: Float32Array[] = [];
  const reduced: Float32Array[] = [];
  const group = {
    rank: 0,
    worldSize: 2,
    allocateBuffer: (length: number) => {
      allocated.push(new Float32Array(length));
      return allocated.at(-1)!;
    },
    releaseBuffer: (buffer: Float32Array) => released.push(buffer),
    allReduce: (data: Float32Array) => {
      reduced.push(data);
      return Promise.resolve(data);
    },
  } as unknown as ProcessGroup;
  const bucketer = new GradientBucketer(group, 16);
  const step = (lengths: number[]) =>
    bucketer.reduce(new Map(lengths.map((n, i) => [`g${i}`, new Float32Array(n)])));
  await step([2, 2, 3]);
  await step([2, 2, 3]);
  assert.deepEqual(
    allocated.map((b) => b.length),
    [4, 3],
  );
  assert.deepEqual(released, []);
  assert.ok(
    reduced.every((b, i) => b === allocated[i % 2]),
    'the same buffers, step after step',
  );
  await step([5]);
  assert.deepEqual(released, allocated.slice(0, 2), 'the old plan gave its buffers back');
  assert.equal(reduced.at(-1), allocated[2]);
  bucketer.release();
  assert.deepEqual(released, allocated);
  await step([5]);
  assert.equal(allocated.length, 4, 'a reduction after the release plans afresh');
});
