import assert from 'node:assert/strict';
import { test } from 'node:test';
import { planParamGroups, type ParamGroupOptions } from '../../src/train/param-groups.js';
import { UsageError } from '@ner-launch/common';

/** HF BertForTokenClassification parameter names for a model with `layers` encoder layers. */
function bertNames(layers: number): string[] {
  const names = [
    'bert.embeddings.word_embeddings.weight',
    'bert.embeddings.position_embeddings.weight',
    'bert.embeddings.token_type_embeddings.weight',
    'bert.embeddings.LayerNorm.weight',
    'bert.embeddings.LayerNorm.bias',
  ];
  for (let i = 0; i < layers; i++)
    for (const part of [
      'attention.self.query',
      'attention.self.key',
      'attention.self.value',
      'attention.output.dense',
      'attention.output.LayerNorm',
      'intermediate.dense',
      'output.dense',
      'output.LayerNorm',
    ])
      names.push(`bert.encoder.layer.${i}.${part}.weight`, `bert.encoder.layer.${i}.${part}.bias`);
  names.push(
    'bert.pooler.dense.weight',
    'bert.pooler.dense.bias',
    'classifier.weight',
    'classifier.bias',
  );
  return names;
}

const base: ParamGroupOptions = {
  learning_rate: 2e-4,
  wd: 0.01,
  double_lr: false,
  freeze_layers: 0,
  wd_exclude_bias_layernorm: false,
};
const names = bertNames(3);

test('by default every parameter trains in one group at the learning rate', () => {
  const plan = planParamGroups(names, base);
  assert.equal(plan.frozen.length, 0);
  assert.equal(plan.groups.length, 1);
  assert.deepEqual(plan.groups[0], { name: 'all', lr: 2e-4, weightDecay: 0.01, params: names });
});

test('double_lr puts BERT parameters at lr/10 and the classifier at lr', () => {
  const plan = planParamGroups(names, { ...base, double_lr: true });
  const bert = plan.groups.find((g) => g.name === 'bert');
  const head = plan.groups.find((g) => g.name === 'classifier');
  assert.ok(bert && head);
  assert.equal(bert.lr, 2e-4 / 10);
  assert.equal(head.lr, 2e-4);
  assert.deepEqual(head.params, ['classifier.weight', 'classifier.bias']);
  assert.equal(bert.params.length, names.length - 2);
  assert.ok(bert.params.every((n) => n.startsWith('bert.')));
});

test('freeze_layers N freezes the embeddings and the first N encoder layers', () => {
  const plan = planParamGroups(names, { ...base, freeze_layers: 2 });
  const expected = names.filter(
    (n) => n.startsWith('bert.embeddings.') || /^bert\.encoder\.layer\.[01]\./.test(n),
  );
  assert.deepEqual(plan.frozen, expected);
  const trainable = plan.groups.flatMap((g) => g.params);
  assert.ok(trainable.every((n) => !expected.includes(n)));
  assert.ok(trainable.includes('bert.encoder.layer.2.output.dense.weight'));
  assert.equal(trainable.length + plan.frozen.length, names.length);
});

test('freeze_layers -1 freezes the embeddings only', () => {
  const plan = planParamGroups(names, { ...base, freeze_layers: -1 });
  assert.deepEqual(
    plan.frozen,
    names.filter((n) => n.startsWith('bert.embeddings.')),
  );
});

test('freeze_layers beyond the model depth is a flag error', () => {
  assert.throws(
    () => planParamGroups(names, { ...base, freeze_layers: 4 }),
    (error: unknown) =>
      error instanceof UsageError &&
      error.flag === 'freeze_layers' &&
      /only 3 encoder layers/.test(error.message),
  );
});

test('wd_exclude_bias_layernorm takes biases and LayerNorm weights out of weight decay', () => {
  const plan = planParamGroups(names, {
    ...base,
    double_lr: true,
    wd_exclude_bias_layernorm: true,
  });
  const noDecay = plan.groups.filter((g) => g.name.endsWith('/no_decay'));
  assert.deepEqual(
    noDecay.map((g) => [g.name, g.weightDecay, g.lr]),
    [
      ['bert/no_decay', 0, 2e-5],
      ['classifier/no_decay', 0, 2e-4],
    ],
  );
  const excluded = noDecay.flatMap((g) => g.params);
  assert.ok(excluded.includes('bert.embeddings.LayerNorm.weight'));
  assert.ok(excluded.includes('classifier.bias'));
  assert.ok(!excluded.includes('classifier.weight'));
  assert.ok(!excluded.includes('bert.encoder.layer.0.attention.self.query.weight'));
});
