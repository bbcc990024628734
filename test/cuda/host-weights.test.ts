import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { readSafetensors, writeSafetensors } from '@ner-launch/trainer';
import {
  ParameterLayout,
  packNamed,
  packWeights,
  unpackNamed,
  parameterShapes,
  unpackWeights,
  type HostWeights,
} from '@ner-launch/cuda';
import { runReference, skipWithoutPython } from '../support/python.js';
import { TINY_DIMS } from '../support/cuda-dims.js';

const dir = mkdtempSync(join(tmpdir(), 'ner-cuda-weights-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function randomWeights(seed: number): HostWeights {
  let state = seed;
  const next = () => (state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 2 ** 32 - 0.5;
  const weights: HostWeights = new Map();
  for (const [name, shape] of parameterShapes(TINY_DIMS))
    weights.set(name, {
      shape,
      data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, next),
    });
  return weights;
}

test('weights written by the trainer as safetensors go into the flat buffer and come back identical', async () => {
  const layout = new ParameterLayout(TINY_DIMS);
  const original = randomWeights(7);
  const pooler: HostWeights = new Map([
    ['bert.pooler.dense.weight', { shape: [32, 32], data: new Float32Array(1024) }],
  ]);
  const path = join(dir, 'model.safetensors');
  await writeSafetensors(path, new Map([...original, ...pooler]));
  const { tensors } = await readSafetensors(path);
  const flat = packWeights(layout, tensors);
  assert.equal(flat.length, layout.totalSize);
  const back = unpackWeights(layout, flat);
  assert.deepEqual(
    [...back.keys()].sort(),
    [...original.keys()].sort(),
    'the pooler is not part of the engine',
  );
  for (const [name, tensor] of original) {
    assert.deepEqual(back.get(name)!.shape, tensor.shape, name);
    assert.deepEqual(back.get(name)!.data, tensor.data, name);
  }
  await writeSafetensors(join(dir, 'exported.safetensors'), back);
  const reread = (await readSafetensors(join(dir, 'exported.safetensors'))).tensors;
  for (const [name, tensor] of original)
    assert.deepEqual(reread.get(name)!.data, tensor.data, name);
});

test(
  "HF PyTorch's BertForTokenClassification state dict (no pooler) loads by name with nothing left over",
  { skip: skipWithoutPython() },
  async () => {
    const path = join(dir, 'hf.safetensors');
    runReference('../cuda/hf_weights.py', ['--out', path, '--tiny']);
    const { tensors } = await readSafetensors(path);
    const layout = new ParameterLayout(TINY_DIMS);
    const flat = packWeights(layout, tensors, path);
    const extra = [...tensors.keys()].filter((name) => !layout.slots.has(name)).sort();
    assert.deepEqual(extra, []);
    assert.equal(tensors.size, layout.slots.size);
    const back = unpackWeights(layout, flat);
    for (const [name, tensor] of back) assert.deepEqual(tensor.data, tensors.get(name)!.data, name);
  },
);

test('a missing or misshapen tensor is one line naming it', () => {
  const layout = new ParameterLayout(TINY_DIMS);
  const weights = randomWeights(1);
  weights.delete('classifier.bias');
  assert.throws(
    () => packWeights(layout, weights, 'ckpt/model.safetensors'),
    /^Error: ckpt\/model\.safetensors have no classifier\.bias \(shape \[5\]\)$/,
  );
  const wrong = randomWeights(1);
  wrong.set('classifier.weight', { shape: [4, 32], data: new Float32Array(128) });
  assert.throws(
    () => packWeights(layout, wrong),
    /classifier\.weight has shape \[4, 32\], the model needs \[5, 32\]/,
  );
});

test('gradients by name round-trip; absent names are zeros; unknown names and wrong lengths are refused', () => {
  const layout = new ParameterLayout(TINY_DIMS);
  const grads = new Map([['classifier.bias', Float32Array.of(1, 2, 3, 4, 5)]]);
  const flat = packNamed(layout, grads, 'writeGradients');
  const back = unpackNamed(layout, flat);
  assert.deepEqual(back.get('classifier.bias'), grads.get('classifier.bias'));
  assert.ok(back.get('classifier.weight')!.every((v) => v === 0));
  assert.throws(
    () => packNamed(layout, new Map([['nope', new Float32Array(1)]]), 'writeGradients'),
    /^Error: writeGradients: the model has no parameter nope$/,
  );
  assert.throws(
    () => packNamed(layout, new Map([['classifier.bias', new Float32Array(4)]]), 'writeGradients'),
    /classifier\.bias has 4 values, the parameter 5/,
  );
});
