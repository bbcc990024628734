import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DistributedSampler } from '../src/distributed-sampler.js';

const shard = (datasetLength: number, batchSize: number, worldSize: number, extra = {}) =>
  Array.from(
    { length: worldSize },
    (_, rank) =>
      new DistributedSampler({ datasetLength, batchSize, rank, worldSize, seed: 5, ...extra }),
  );

test('over all ranks, every sample appears exactly once among the real (non-padded) entries of an epoch', () => {
  for (const [length, batch, n] of [
    [10, 2, 3],
    [7, 4, 4],
    [1, 3, 2],
    [100, 8, 3],
  ]) {
    const seen = shard(length, batch, n).flatMap((s) =>
      s.batches(0).flatMap((b) => b.indices.slice(0, b.realCount)),
    );
    assert.deepEqual(
      [...seen].sort((a, b) => a - b),
      Array.from({ length }, (_, i) => i),
    );
  }
});

test('with even batches every rank gets the same number of batches, padding sits at the end and repeats the epoch start', () => {
  const samplers = shard(10, 3, 4);
  const batches = samplers.map((s) => s.batches(1));
  assert.ok(batches.every((b) => b.length === batches[0].length));
  const order = samplers[0].order(1);
  for (const perRank of batches)
    for (const b of perRank)
      b.positions.forEach((p, i) => {
        assert.equal(p >= 10, i >= b.realCount);
        assert.equal(b.indices[i], order[p % 10]);
      });
});

test('rank batch j over all ranks is exactly global batch j of one process with N times the batch size', () => {
  const [single] = shard(23, 8, 1);
  const ranks = shard(23, 2, 4);
  const global = single.batches(3);
  ranks.forEach((s) => assert.equal(s.batchesPerEpoch, 3));
  for (let j = 0; j < 3; j++) {
    const union = ranks
      .flatMap((s) => {
        const b = s.batches(3)[j];
        return b.positions.slice(0, b.realCount).map((p, i) => [p, b.indices[i]] as const);
      })
      .sort((a, b) => a[0] - b[0])
      .map(([, index]) => index);
    assert.deepEqual(union, global[j].indices.slice(0, global[j].realCount));
  }
});

test('the order is the same on every rank, changes with the epoch and the seed, and is a permutation', () => {
  const [a, b] = shard(50, 4, 2);
  assert.deepEqual(a.order(2), b.order(2));
  assert.notDeepEqual(a.order(2), a.order(3));
  assert.notDeepEqual(
    a.order(2),
    new DistributedSampler({
      datasetLength: 50,
      batchSize: 4,
      rank: 0,
      worldSize: 2,
      seed: 6,
    }).order(2),
  );
  assert.deepEqual(
    [...a.order(0)].sort((x, y) => x - y),
    Array.from({ length: 50 }, (_, i) => i),
  );
  const plain = new DistributedSampler({
    datasetLength: 5,
    batchSize: 2,
    rank: 0,
    worldSize: 1,
    shuffle: false,
  });
  assert.deepEqual(plain.order(9), [0, 1, 2, 3, 4]);
});

test('without even batches ranks may get different counts; drop_last drops the incomplete batch', () => {
  assert.deepEqual(
    shard(10, 2, 4, { evenBatches: false }).map((s) => s.samplesPerRank),
    [3, 3, 2, 2],
  );
  assert.equal(shard(10, 2, 1, { dropLast: true })[0].batchesPerEpoch, 5);
  assert.equal(shard(11, 2, 1, { dropLast: true })[0].batchesPerEpoch, 5);
  assert.throws(
    () => new DistributedSampler({ datasetLength: 3, batchSize: 0, rank: 0, worldSize: 1 }),
    /batch size 0/,
  );
  assert.throws(
    () => new DistributedSampler({ datasetLength: 3, batchSize: 1, rank: 2, worldSize: 2 }),
    /rank 2 is outside/,
  );
});
