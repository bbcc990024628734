/**
 * The length-grouped split of a batch: every row exactly once, slices of rows sorted by length
 * and at most maxRows long, and the cheapest such split (checked against brute force).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WASM_SLICE_COSTS } from '../../src/backends/wasm.js';
import {
  lengthGroups,
  sliceCost,
  sliceCostModel,
  type SliceCostModel,
} from '../../src/memory/length-groups.js';

function splitCost(lengths: number[], groups: number[][], model: SliceCostModel): number {
  return groups.reduce(
    (sum, g) => sum + sliceCost(g.length, Math.max(...g.map((r) => lengths[r]!)), model),
    0,
  );
}

/** Cheapest cost over every way to cut the sorted rows into runs of at most maxRows. */
function bruteForceCost(lengths: number[], maxRows: number, model: SliceCostModel): number {
  const sorted = [...lengths].sort((a, b) => a - b);
  let best = Infinity;
  const n = sorted.length;
  for (let mask = 0; mask < 1 << (n - 1); mask++) {
    let cost = 0;
    let start = 0;
    let valid = true;
    for (let i = 1; i <= n; i++) {
      if (i === n || mask & (1 << (i - 1))) {
        if (i - start > maxRows) valid = false;
        cost += sliceCost(i - start, sorted[i - 1]!, model);
        start = i;
      }
    }
    if (valid) best = Math.min(best, cost);
  }
  return best;
}

test('groups cover each row once, sorted by length, within maxRows, at the cheapest cost', () => {
  let seed = 11;
  const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8;
  const model = sliceCostModel({ hiddenSize: 384, intermediateSize: 1536 }, WASM_SLICE_COSTS);
  for (let trial = 0; trial < 40; trial++) {
    const n = 1 + (next() % 10);
    const lengths = Array.from({ length: n }, () => 3 + (next() % 125));
    const maxRows = 1 + (next() % n);
    const groups = lengthGroups(lengths, maxRows, model);
    assert.deepEqual(
      groups.flat().sort((a, b) => a - b),
      [...lengths.keys()],
      'every row exactly once',
    );
    const order = groups.flat().map((r) => lengths[r]!);
    assert.deepEqual(
      order,
      [...order].sort((a, b) => a - b),
      'rows in length order',
    );
    for (const g of groups) assert.ok(g.length <= maxRows, `slice of ${g.length} > ${maxRows}`);
    const cost = splitCost(lengths, groups, model);
    const best = bruteForceCost(lengths, maxRows, model);
    assert.ok(Math.abs(cost - best) <= 1e-9 * best, `cost ${cost}, brute force ${best}`);
  }
});

test('a large slice overhead keeps the batch whole; none splits unequal lengths apart', () => {
  const lengths = [40, 12, 90, 12, 33];
  assert.equal(
    lengthGroups(lengths, 16, { overheadTokens: 1e6, attentionPerPosition: 0 }).length,
    1,
  );
  const eager = lengthGroups(lengths, 16, { overheadTokens: 0, attentionPerPosition: 0.01 });
  for (const g of eager) assert.equal(new Set(g.map((r) => lengths[r])).size, 1);
  assert.deepEqual(eager[0], [1, 3], 'equal lengths keep batch order');
});

test('the Turku-like batch of the benchmark splits into a few slices', () => {
  // Lengths of one Turku NER batch of 16 (word pieces, max_len 128).
  const lengths = [36, 13, 67, 91, 20, 115, 28, 45, 34, 60, 85, 26, 51, 32, 80, 19];
  const groups = lengthGroups(
    lengths,
    16,
    sliceCostModel({ hiddenSize: 384, intermediateSize: 1536 }, WASM_SLICE_COSTS),
  );
  assert.ok(groups.length >= 2 && groups.length <= 6, `${groups.length} slices`);
  const padded = 16 * 115;
  const grouped = groups.reduce((s, g) => s + g.length * Math.max(...g.map((r) => lengths[r]!)), 0);
  assert.ok(grouped < 0.75 * padded, `grouped ${grouped} padded positions vs ${padded}`);
});

test('the cost model charges attention in proportion to its slowdown', () => {
  const shape = { hiddenSize: 384, intermediateSize: 1536 };
  const standard = sliceCostModel(shape, WASM_SLICE_COSTS);
  assert.equal(standard.overheadTokens, WASM_SLICE_COSTS.overheadTokens);
  // One position of length: slowdown x 12h attention FLOPs over 6(4h² + 2hi) dense FLOPs.
  assert.ok(
    Math.abs(
      standard.attentionPerPosition -
        (WASM_SLICE_COSTS.attentionSlowdown * 12 * 384) / (6 * (4 * 384 * 384 + 2 * 384 * 1536)),
    ) < 1e-15,
  );
  const tuned = sliceCostModel(shape, { attentionSlowdown: 2, overheadTokens: 30 });
  assert.equal(tuned.overheadTokens, 30);
  assert.ok(
    Math.abs(
      tuned.attentionPerPosition / standard.attentionPerPosition -
        2 / WASM_SLICE_COSTS.attentionSlowdown,
    ) < 1e-12,
  );
});
