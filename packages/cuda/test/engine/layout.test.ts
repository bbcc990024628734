import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parameterShapes } from '../../src/engine/dims.js';
import { LAYOUT_ALIGNMENT, ParameterLayout } from '../../src/engine/layout.js';
import { BERT_BASE_DIMS, TINY_DIMS } from '../../../../test/support/cuda-dims.js';

test('every parameter has a slot; slots do not overlap and fit in the total', () => {
  const layout = new ParameterLayout(TINY_DIMS);
  assert.deepEqual([...layout.slots.keys()].sort(), [...parameterShapes(TINY_DIMS).keys()].sort());
  const sorted = [...layout.slots.values()].sort((a, b) => a.offset - b.offset);
  for (let i = 1; i < sorted.length; i++)
    assert.ok(
      sorted[i]!.offset >= sorted[i - 1]!.offset + sorted[i - 1]!.size,
      `${sorted[i]!.name} overlaps ${sorted[i - 1]!.name}`,
    );
  const last = sorted.at(-1)!;
  assert.ok(layout.totalSize >= last.offset + last.size);
  assert.equal(layout.totalSize % LAYOUT_ALIGNMENT, 0);
});

test('query, key and value are packed back to back, weights then biases, each block 256-byte aligned', () => {
  const layout = new ParameterLayout(BERT_BASE_DIMS);
  const h = BERT_BASE_DIMS.hiddenSize;
  for (let layer = 0; layer < BERT_BASE_DIMS.numLayers; layer++) {
    const s = (name: string) => layout.slot(`bert.encoder.layer.${layer}.attention.self.${name}`);
    const { weight, bias } = layout.qkv(layer);
    assert.equal(weight % LAYOUT_ALIGNMENT, 0);
    assert.equal(bias % LAYOUT_ALIGNMENT, 0);
    assert.deepEqual(
      [s('query.weight').offset, s('key.weight').offset, s('value.weight').offset],
      [weight, weight + h * h, weight + 2 * h * h],
    );
    assert.deepEqual(
      [s('query.bias').offset, s('key.bias').offset, s('value.bias').offset],
      [bias, bias + h, bias + 2 * h],
    );
  }
});

test('bert-base (FinBERT vocabulary, 13 labels) has 123.9M parameters, as HF counts them, and under 1% padding', () => {
  const layout = new ParameterLayout(BERT_BASE_DIMS);
  const count = [...layout.slots.values()].reduce((sum, s) => sum + s.size, 0);
  // torch: sum(p.numel() for p in BertForTokenClassification(config).parameters())
  assert.equal(count, 123_941_389);
  assert.ok(layout.totalSize - count < count / 100);
});

test('decay / no-decay groups become two runs per layer block, frozen parameters none', () => {
  const layout = new ParameterLayout(TINY_DIMS);
  const names = [...layout.slots.keys()];
  const noDecay = names.filter((n) => n.endsWith('.bias') || n.includes('LayerNorm'));
  const frozen = new Set(['bert.embeddings.word_embeddings.weight']);
  const decay = names.filter((n) => !noDecay.includes(n) && !frozen.has(n));
  const runs = layout.groupRuns([{ params: decay }, { params: noDecay }]);
  // embeddings: positions+types | LayerNorm; per layer: matrices | vectors; classifier: weight | bias
  assert.equal(runs.length, 2 + 2 * TINY_DIMS.numLayers + 2);
  const covered = new Map<string, number>();
  for (const slot of layout.slots.values()) {
    const run = runs.find(
      (r) => slot.offset >= r.offset && slot.offset + slot.size <= r.offset + r.size,
    );
    if (run) covered.set(slot.name, run.group);
  }
  assert.equal(
    covered.has('bert.embeddings.word_embeddings.weight'),
    false,
    'frozen parameters are in no run',
  );
  for (const name of decay) assert.equal(covered.get(name), 0, name);
  for (const name of noDecay) assert.equal(covered.get(name), 1, name);
  const frozenSlot = layout.slot('bert.embeddings.word_embeddings.weight');
  for (const run of runs)
    assert.ok(
      run.offset >= frozenSlot.offset + frozenSlot.size ||
        run.offset + run.size <= frozenSlot.offset,
    );
});

test('param groups naming an unknown or repeated parameter are refused by name', () => {
  const layout = new ParameterLayout(TINY_DIMS);
  assert.throws(
    () => layout.groupRuns([{ params: ['bert.pooler.dense.weight'] }]),
    /^Error: the BERT model has no parameter bert\.pooler\.dense\.weight$/,
  );
  assert.throws(
    () => layout.groupRuns([{ params: ['classifier.bias'] }, { params: ['classifier.bias'] }]),
    /parameter classifier\.bias appears in two param groups/,
  );
});
