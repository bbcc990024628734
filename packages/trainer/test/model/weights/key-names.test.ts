import assert from 'node:assert/strict';
import { test } from 'node:test';
import { normaliseKey, normaliseKeys } from '../../../src/model/weights/key-names.js';
import type { StateDict } from '../../../src/model/weights/state-dict.js';

const t = (n: number) => ({ shape: [1], data: new Float32Array([n]) });

test('LayerNorm gamma/beta become weight/bias and bare BertModel keys gain the bert. prefix', () => {
  assert.equal(
    normaliseKey('encoder.layer.3.output.LayerNorm.gamma', true),
    'bert.encoder.layer.3.output.LayerNorm.weight',
  );
  assert.equal(normaliseKey('embeddings.LayerNorm.beta', true), 'bert.embeddings.LayerNorm.bias');
  assert.equal(normaliseKey('pooler.dense.weight', true), 'bert.pooler.dense.weight');
  assert.equal(normaliseKey('classifier.weight', true), 'classifier.weight');
  assert.equal(
    normaliseKey('bert.embeddings.LayerNorm.gamma', false),
    'bert.embeddings.LayerNorm.weight',
  );
  // Only LayerNorm parameters are renamed; a "gamma" elsewhere is left alone.
  assert.equal(normaliseKey('cls.predictions.gamma', false), 'cls.predictions.gamma');
});

test('a checkpoint that already has bert.* keys keeps its cls.* heads under their own names', () => {
  const source: StateDict = new Map([
    ['bert.embeddings.word_embeddings.weight', t(1)],
    ['bert.encoder.layer.0.attention.output.LayerNorm.gamma', t(2)],
    ['cls.predictions.bias', t(3)],
    ['bert.embeddings.position_ids', t(4)],
  ]);
  const result = normaliseKeys(source, 'ckpt.bin');
  assert.deepEqual(
    [...result.stateDict.keys()],
    [
      'bert.embeddings.word_embeddings.weight',
      'bert.encoder.layer.0.attention.output.LayerNorm.weight',
      'cls.predictions.bias',
    ],
  );
  assert.deepEqual(
    [...result.renamed],
    [
      [
        'bert.encoder.layer.0.attention.output.LayerNorm.gamma',
        'bert.encoder.layer.0.attention.output.LayerNorm.weight',
      ],
    ],
  );
  assert.deepEqual(result.ignoredBuffers, ['bert.embeddings.position_ids']);
  assert.equal(result.stateDict.get('cls.predictions.bias')!.data[0], 3);
});

test('two keys that normalise to one name are an error naming the file and both keys', () => {
  const source: StateDict = new Map([
    ['embeddings.LayerNorm.gamma', t(1)],
    ['embeddings.LayerNorm.weight', t(2)],
  ]);
  assert.throws(
    () => normaliseKeys(source, 'model.safetensors'),
    /model\.safetensors: keys "embeddings\.LayerNorm\.gamma" and "embeddings\.LayerNorm\.weight" both map to "bert\.embeddings\.LayerNorm\.weight"/,
  );
});
