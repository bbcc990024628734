import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Accelerator } from '../src/accelerator.js';
import { mulberry32 } from '@ner-launch/common';
import { GradientBucketer } from '../src/gradient-buckets.js';
import { ProtocolError, type ProcessGroup, type WireDType } from '../src/process-group.js';
import { roundToHalf } from '../src/reduce-kernels.js';
import { packRows, touchedRows, unionRows, unpackRows } from '../src/row-sparse-reduce.js';
import { SingleProcessGroup } from '../src/single-process-group.js';
import { standaloneWorkerEnv } from '../src/worker-env.js';
import { startGroups } from './support/in-process-groups.js';

const ROWS = 2000;
const WIDTH = 24;
const SPARSE = 'embed';
const ROW_SPARSE = new Map([[SPARSE, WIDTH]]);
/** Frames small enough that the ring splits every block into pieces. */
const SMALL_FRAMES = { maxPayloadBytes: 16 * 1024 };

/** Values over four decades, so that summation order and wire rounding show in the bits. */
function randomValue(rand: () => number): number {
  return (rand() * 2 - 1) * 10 ** (rand() * 4 - 2);
}

function bitmapOf(rows: number, touched: Iterable<number>): Uint8Array {
  const bitmap = new Uint8Array(Math.ceil(rows / 8));
  for (const r of touched) bitmap[r >> 3] |= 1 << (r & 7);
  return bitmap;
}

/** A rank's gradients: dense ones around a word-embedding-like one nonzero in `touched` rows. */
function rankGradients(
  rand: () => number,
  touched: Iterable<number>,
  half?: 'fp16' | 'bf16',
): Map<string, Float32Array> {
  const sparse = new Float32Array(ROWS * WIDTH);
  for (const r of touched)
    for (let j = 0; j < WIDTH; j++) sparse[r * WIDTH + j] = rand() < 0.1 ? 0 : randomValue(rand);
  const grads = new Map([
    ['pre', new Float32Array(5000).map(() => randomValue(rand))],
    [SPARSE, sparse],
    ['post', new Float32Array(7).map(() => randomValue(rand))],
  ]);
  if (half) for (const g of grads.values()) roundToHalf(g, half);
  return grads;
}

function randomRows(rand: () => number, fraction: number): number[] {
  return Array.from({ length: ROWS }, (_, r) => r).filter(() => rand() < fraction);
}

/**
 * Half the lower rows and all upper ones: the packed buffer's blocks then split at another
 * row than the dense buffer's, so many elements are summed in another order than densely.
 */
function skewedRows(rand: () => number): number[] {
  return Array.from({ length: ROWS }, (_, r) => r).filter((r) => r >= ROWS / 2 || rand() < 0.5);
}

const copy = (grads: Map<string, Float32Array>): Map<string, Float32Array> =>
  new Map([...grads].map(([name, g]) => [name, g.slice()]));

/** Every rank's gradients reduced the dense way and the row-sparse way (inputs left as they are). */
async function reduceBoth(
  groups: ProcessGroup[],
  grads: Array<Map<string, Float32Array>>,
  wire: WireDType = 'fp32',
): Promise<{ dense: Array<Map<string, Float32Array>>; sparse: Array<Map<string, Float32Array>> }> {
  // Small buckets: the dense gradients span several collectives, as in training.
  const bucketers = groups.map((g) => new GradientBucketer(g, 8 * 1024));
  const dense = grads.map(copy);
  await Promise.all(bucketers.map((b, r) => b.reduce(dense[r], 'mean', wire)));
  const sparse = grads.map(copy);
  await Promise.all(
    bucketers.map((b, r) => b.reduce(sparse[r], 'mean', wire, { rowSparse: ROW_SPARSE })),
  );
  return { dense, sparse };
}

function assertSameBits(actual: Float32Array, expected: Float32Array, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  const a = new Uint32Array(actual.buffer, actual.byteOffset, actual.length);
  const e = new Uint32Array(expected.buffer, expected.byteOffset, expected.length);
  for (let i = 0; i < a.length; i++)
    if (a[i] !== e[i]) assert.fail(`${what} [${i}]: ${actual[i]} != ${expected[i]}`);
}

function assertAllSameBits(
  actual: Array<Map<string, Float32Array>>,
  expected: Array<Map<string, Float32Array>>,
  what: string,
): void {
  actual.forEach((grads, r) => {
    for (const [name, g] of grads)
      assertSameBits(g, expected[r].get(name)!, `${what}, rank ${r} ${name}`);
  });
}

test('touched rows are those with a nonzero or NaN value; the union is sorted; other rows become +0', () => {
  const grad = new Float32Array(10 * 2);
  grad.set([0, -0], 1 * 2); // all zero, one of them negative: untouched
  grad.set([0, 1], 3 * 2);
  grad.set([NaN, 0], 9 * 2);
  const mine = touchedRows(grad, 2);
  assert.deepEqual([...unionRows([mine])], [3, 9]);
  assert.deepEqual([...unionRows([mine, bitmapOf(10, [0, 3, 8])])], [0, 3, 8, 9]);
  assert.throws(() => unionRows([mine, new Uint8Array(3)]), ProtocolError);
  assert.throws(() => touchedRows(grad, 3), /whole number of rows of 3/);

  const rows = Uint32Array.of(0, 3, 8, 9);
  const packed = packRows(grad, 2, rows);
  assert.deepEqual([...packed], [0, 0, 0, 1, 0, 0, NaN, 0]);
  packed[0] = 5;
  unpackRows(grad, 2, rows, packed);
  assert.deepEqual([...grad], [5, 0, 0, 0, 0, 0, 0, 1, ...new Array<number>(10).fill(0), NaN, 0]);
  assert.ok(!Object.is(grad[3], -0), 'the -0 outside the union became +0');
});

test('the row-sparse gradient leaves the dense buckets and only its union rows travel', async () => {
  const calls: string[] = [];
  const peer = bitmapOf(8, [5]);
  const fakeGroup = {
    rank: 0,
    worldSize: 2,
    allocateBuffer: (length: number) => new Float32Array(length),
    releaseBuffer: () => undefined,
    allGatherBytes: (bytes: Uint8Array) => {
      calls.push(`gather ${bytes.length}`);
      return Promise.resolve([bytes, peer]);
    },
    allReduce: (data: Float32Array) => {
      calls.push(`reduce ${data.length}`);
      for (let i = 0; i < data.length; i++) data[i] *= 10;
      return Promise.resolve(data);
    },
  } as unknown as ProcessGroup;
  const acc = await Accelerator.create({
    env: { ...standaloneWorkerEnv(), worldSize: 2, localWorldSize: 2 },
    group: fakeGroup,
  });
  const embed = new Float32Array(8 * 3);
  embed.set([1, 2, 3], 1 * 3);
  embed.set([0, 0, 4], 2 * 3);
  const grads = new Map([
    ['w', new Float32Array(10).fill(1)],
    ['embed', embed],
    ['b', new Float32Array([2, 3])],
  ]);
  await acc.reduceGradients(grads, {
    rowSparse: new Map([
      ['embed', 3],
      ['not a gradient', 7],
    ]),
  });
  assert.deepEqual(calls, ['reduce 12', 'gather 1', 'reduce 9']);
  assert.deepEqual([...grads.get('b')!], [20, 30]);
  const want = new Float32Array(8 * 3);
  want.set([10, 20, 30, 0, 0, 40], 3);
  assert.deepEqual([...embed], [...want]);
});

test('with one process row-sparse gradients are left untouched, but a width that does not fit fails', async () => {
  const bucketer = new GradientBucketer(new SingleProcessGroup());
  const g = new Map([['embed', new Float32Array([0, -0, 1.5, 0, 0, 0])]]);
  await bucketer.reduce(g, 'mean', 'fp32', { rowSparse: new Map([['embed', 2]]) });
  assert.ok(Object.is(g.get('embed')![1], -0));
  assert.deepEqual([...g.get('embed')!], [0, -0, 1.5, 0, 0, 0]);
  await assert.rejects(
    bucketer.reduce(g, 'mean', 'fp32', { rowSparse: new Map([['embed', 4]]) }),
    /'embed' has 6 elements, not a whole number of rows of 4/,
  );
});

test('two ranks over gRPC: the row-sparse mean is bit-identical to the dense one (overlapping, one-sided and no touched rows)', async () => {
  const groups = await startGroups(2, SMALL_FRAMES);
  const rand = mulberry32(7);
  const overlapping = [0.1, 0.05].map((fraction) => {
    const grads = rankGradients(rand, [...randomRows(rand, fraction), 0, ROWS - 1]);
    grads.get(SPARSE)![1] = -0; // -0 + -0 inside a union row stays -0, as in the dense sum
    return grads;
  });
  overlapping[1].get(SPARSE)![ROWS * WIDTH - 1] = Infinity;
  const scenarios = {
    'random rows on each rank': overlapping,
    'rows on rank 0 only': [rankGradients(rand, randomRows(rand, 0.2)), rankGradients(rand, [])],
    'no rows at all': [rankGradients(rand, []), rankGradients(rand, [])],
  };
  // A row of zeros, one of them -0, counts as untouched.
  scenarios['no rows at all'][1].get(SPARSE)![17 * WIDTH] = -0;
  for (const [what, grads] of Object.entries(scenarios)) {
    const { dense, sparse } = await reduceBoth(groups, grads);
    assertAllSameBits(sparse, dense, what);
    assertAllSameBits(sparse, [sparse[1], sparse[0]], `${what}, rank against rank`);
  }
  const { sparse } = await reduceBoth(groups, scenarios['no rows at all']);
  assertSameBits(sparse[0].get(SPARSE)!, new Float32Array(ROWS * WIDTH), 'no rows: all +0');
  await Promise.all(groups.map((g) => g.close()));
});

test('two ranks over a half-precision wire: bit-identical to dense for half-representable gradients, within rounding otherwise', async () => {
  const groups = await startGroups(2, SMALL_FRAMES);
  const rand = mulberry32(11);
  for (const wire of ['fp16', 'bf16'] as const) {
    const exact = [0.1, 0.1].map(() => rankGradients(rand, randomRows(rand, 0.1), wire));
    const first = await reduceBoth(groups, exact, wire);
    assertAllSameBits(first.sparse, first.dense, `${wire}, half-representable`);

    // Which rank's value the wire rounds depends on where an element sits in the buffer, so
    // the two paths may differ by the error of rounding to half (unit roundoff u) twice.
    const general = [0, 1].map(() => rankGradients(rand, skewedRows(rand)));
    const { dense, sparse } = await reduceBoth(groups, general, wire);
    assertAllSameBits(sparse, [sparse[1], sparse[0]], `${wire}, rank against rank`);
    const u = wire === 'fp16' ? 2 ** -11 : 2 ** -8;
    const [a, b] = general.map((g) => g.get(SPARSE)!);
    const s = sparse[0].get(SPARSE)!;
    const d = dense[0].get(SPARSE)!;
    for (let i = 0; i < s.length; i++) {
      const bound = 2 * u * (Math.abs(a[i]) + Math.abs(b[i])) + 2 ** -24; // fp16 subnormal step
      if (!(Math.abs(s[i] - d[i]) <= bound)) assert.fail(`${wire} [${i}]: ${s[i]} vs ${d[i]}`);
    }
  }
  await Promise.all(groups.map((g) => g.close()));
});

test('three ranks over gRPC: the row-sparse mean is identical on every rank and within 1e-6 of the dense one', async () => {
  const groups = await startGroups(3, SMALL_FRAMES);
  const rand = mulberry32(5);
  const grads = [
    rankGradients(rand, skewedRows(rand)),
    rankGradients(rand, skewedRows(rand)),
    rankGradients(rand, randomRows(rand, 0.05)),
  ];
  const { dense, sparse } = await reduceBoth(groups, grads);
  for (const r of [1, 2]) assertAllSameBits([sparse[r]], [sparse[0]], `rank ${r} against rank 0`);
  for (const name of ['pre', 'post'])
    assertSameBits(sparse[0].get(name)!, dense[0].get(name)!, name);
  const s = sparse[0].get(SPARSE)!;
  const d = dense[0].get(SPARSE)!;
  const inputs = grads.map((g) => g.get(SPARSE)!);
  for (let i = 0; i < s.length; i++) {
    // Relative to the mean magnitude of the terms: the result itself may cancel to near 0.
    const scale = inputs.reduce((sum, g) => sum + Math.abs(g[i]), 0) / 3;
    if (!(Math.abs(s[i] - d[i]) <= 1e-6 * scale)) assert.fail(`[${i}]: ${s[i]} vs ${d[i]}`);
  }
  await Promise.all(groups.map((g) => g.close()));
});
