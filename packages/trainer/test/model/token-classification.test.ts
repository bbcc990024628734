/**
 * BertForTokenClassification behaviour on a tiny random model (no Python needed): loading
 * reports, pooler round trip, seeded classifier, train/eval modes, the loss, gradients
 * (finite differences, accumulation, frozen parameters), in-place updates and tensor leaks.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/backend.js';
import { parseBertConfig, type BertConfig } from '../../src/model/config.js';
import { SeededRandom } from '@ner-launch/common';
import { BertForTokenClassification } from '../../src/model/token-classification.js';
import { tokenClassificationShapes } from '../../src/model/weights/expected-parameters.js';
import type { StateDict } from '../../src/model/weights/state-dict.js';
import { AdamW } from '../../src/optim/adamw.js';
import { clipGradNorm } from '../../src/optim/grad-clip.js';

const CONFIG: BertConfig = parseBertConfig(
  {
    vocab_size: 40,
    hidden_size: 16,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    intermediate_size: 24,
    max_position_embeddings: 32,
    hidden_act: 'gelu',
    id2label: { 0: 'O', 1: 'B-PER', 2: 'I-PER' },
    label2id: { O: 0, 'B-PER': 1, 'I-PER': 2 },
  },
  'tiny/config.json',
);

/** A random pretraining-style state dict: encoder + pooler + an unused MLM head, no classifier. */
function randomStateDict(seed: number, config = CONFIG): StateDict {
  const rng = new SeededRandom(seed);
  const shapes = tokenClassificationShapes({ ...config, numLabels: config.id2label.length });
  const out: StateDict = new Map();
  for (const [name, shape] of shapes) {
    if (name.startsWith('classifier.')) continue;
    const size = shape.reduce((a, b) => a * b, 1);
    out.set(name, { shape, data: rng.normalArray(size, 0.2) });
  }
  out.set('cls.predictions.bias', {
    shape: [config.vocabSize],
    data: new Float32Array(config.vocabSize),
  });
  return out;
}

function batch() {
  return {
    inputIds: tf.tensor2d(
      [
        [2, 5, 7, 9, 3, 0],
        [2, 11, 5, 3, 0, 0],
      ],
      undefined,
      'int32',
    ),
    attentionMask: tf.tensor2d(
      [
        [1, 1, 1, 1, 1, 0],
        [1, 1, 1, 1, 0, 0],
      ],
      undefined,
      'int32',
    ),
    labels: tf.tensor2d(
      [
        [-100, 1, 2, 0, -100, -100],
        [-100, 0, 1, -100, -100, -100],
      ],
      undefined,
      'int32',
    ),
  };
}

before(async () => {
  await initBackend('wasm');
});

test('a pretraining checkpoint loads with the classifier reported missing and cls.* unused', () => {
  const model = BertForTokenClassification.fromStateDict(CONFIG, randomStateDict(1), { seed: 7 });
  assert.deepEqual(model.loadReport.missingKeys, ['classifier.weight', 'classifier.bias']);
  assert.deepEqual(model.loadReport.unexpectedKeys, ['cls.predictions.bias']);
  const classifier = model.toStateDict().get('classifier.weight')!;
  assert.deepEqual(classifier.shape, [3, 16]);
  // normal(0, initializer_range = 0.02): sample std near 0.02 and a zero bias.
  const std = Math.sqrt(classifier.data.reduce((s, x) => s + x * x, 0) / classifier.data.length);
  assert.ok(std > 0.012 && std < 0.028, `classifier std ${std}`);
  assert.deepEqual([...model.toStateDict().get('classifier.bias')!.data], [0, 0, 0]);
  model.dispose();
});

test('the fresh classifier is the same for the same seed and differs for another', () => {
  const weights = (seed: number) => {
    const model = BertForTokenClassification.fromStateDict(CONFIG, randomStateDict(1), { seed });
    const data = model.toStateDict().get('classifier.weight')!.data;
    model.dispose();
    return [...data];
  };
  assert.deepEqual(weights(5), weights(5));
  assert.notDeepEqual(weights(5), weights(6));
});

test('toStateDict returns every loaded tensor, pooler included, bit for bit', () => {
  const source = randomStateDict(2);
  const model = BertForTokenClassification.fromStateDict(CONFIG, source, { seed: 1 });
  const saved = model.toStateDict();
  assert.ok(saved.has('bert.pooler.dense.weight'));
  for (const [name, tensor] of source) {
    if (name.startsWith('cls.')) continue;
    assert.deepEqual(saved.get(name)!.shape, tensor.shape, name);
    assert.deepEqual(saved.get(name)!.data, tensor.data, name);
  }
  assert.ok(!model.trainableNames().includes('bert.pooler.dense.weight'), 'the pooler is unused');
  model.dispose();
});

test('a tensor whose shape disagrees with the config is an error naming it and both shapes', () => {
  const source = randomStateDict(1);
  source.set('bert.encoder.layer.1.output.dense.weight', {
    shape: [16, 20],
    data: new Float32Array(320),
  });
  assert.throws(
    () =>
      BertForTokenClassification.fromStateDict(CONFIG, source, { source: 'x/model.safetensors' }),
    /x\/model\.safetensors: size mismatch for bert\.encoder\.layer\.1\.output\.dense\.weight: the checkpoint has shape \[16, 20\], the model \(from its config\) needs \[16, 24\]/,
  );
});

test('ids outside the vocabulary or mismatched shapes are errors naming the position', () => {
  const model = BertForTokenClassification.fromStateDict(CONFIG, randomStateDict(3), { seed: 1 });
  const ids = tf.tensor2d([[2, 5, 40]], undefined, 'int32');
  const mask = tf.tensor2d([[1, 1, 1]], undefined, 'int32');
  const shortMask = tf.tensor2d([[1, 1]], undefined, 'int32');
  const types = tf.tensor2d([[0, 2, 0]], undefined, 'int32');
  assert.throws(
    () => model.forward(ids, mask),
    /input_ids\[0\]\[2\] = 40 is outside 0..39 \(vocab_size 40\)/,
  );
  assert.throws(
    () => model.forward(ids, shortMask),
    /attention_mask has shape \[1, 2\] but input_ids has \[1, 3\]/,
  );
  const okIds = tf.tensor2d([[2, 5, 7]], undefined, 'int32');
  assert.throws(
    () => model.forward(okIds, mask, types),
    /token_type_ids\[0\]\[1\] = 2 is outside 0..1/,
  );
  const badLabels = tf.tensor2d([[-100, 3, 0]], undefined, 'int32');
  assert.throws(
    () => model.computeGradients({ inputIds: okIds, attentionMask: mask, labels: badLabels }),
    /labels\[0\]\[1\] = 3 is neither -100 nor a label id in 0..2/,
  );
  tf.dispose([ids, mask, shortMask, types, okIds, badLabels]);
  model.dispose();
});

test('eval mode is deterministic and padding does not change the real tokens', () => {
  const model = BertForTokenClassification.fromStateDict(CONFIG, randomStateDict(3), { seed: 1 });
  const ids = tf.tensor2d([[2, 5, 7, 3]], undefined, 'int32');
  const mask = tf.tensor2d([[1, 1, 1, 1]], undefined, 'int32');
  const paddedIds = tf.tensor2d([[2, 5, 7, 3, 9, 9]], undefined, 'int32');
  const paddedMask = tf.tensor2d([[1, 1, 1, 1, 0, 0]], undefined, 'int32');
  const a = model.forward(ids, mask).logits;
  const b = model.forward(ids, mask).logits;
  const padded = model.forward(paddedIds, paddedMask).logits;
  assert.deepEqual(a.dataSync(), b.dataSync());
  const real = tf.slice(padded, [0, 0, 0], [1, 4, 3]);
  const diff = tf.max(tf.abs(tf.sub(real, a))).dataSync()[0]!;
  assert.ok(diff < 1e-5, `padding changed real-token logits by ${diff}`);
  tf.dispose([ids, mask, paddedIds, paddedMask, a, b, padded, real]);
  model.dispose();
});

test('training mode applies seeded dropout: reproducible for a seed, different from eval', () => {
  const config = { ...CONFIG, hiddenDropoutProb: 0.3 };
  const run = (seed: number) => {
    const model = BertForTokenClassification.fromStateDict(config, randomStateDict(3), { seed: 1 });
    model.setDropoutSeed(seed);
    const { inputIds, attentionMask, labels } = batch();
    const train = model.forward(inputIds, attentionMask, undefined, { training: true }).logits;
    const evalOut = model.forward(inputIds, attentionMask).logits;
    const result = { train: [...train.dataSync()], eval: [...evalOut.dataSync()] };
    tf.dispose([inputIds, attentionMask, labels, train, evalOut]);
    model.dispose();
    return result;
  };
  const first = run(11);
  assert.deepEqual(run(11).train, first.train);
  assert.notDeepEqual(run(12).train, first.train);
  assert.notDeepEqual(first.train, first.eval);
});

test('the loss is the mean cross-entropy over labels other than -100', () => {
  const model = BertForTokenClassification.fromStateDict(CONFIG, randomStateDict(4), { seed: 1 });
  const { inputIds, attentionMask, labels } = batch();
  const logits = model.forward(inputIds, attentionMask).logits;
  const loss = model.loss(logits, labels).dataSync()[0]!;
  const values = logits.arraySync() as number[][][];
  const gold = labels.arraySync() as number[][];
  let total = 0;
  let count = 0;
  gold.forEach((row, b) =>
    row.forEach((label, t) => {
      if (label === -100) return;
      const z = values[b]![t]!;
      const max = Math.max(...z);
      const logSum = max + Math.log(z.reduce((s, x) => s + Math.exp(x - max), 0));
      total += logSum - z[label]!;
      count++;
    }),
  );
  assert.equal(count, 5);
  assert.ok(Math.abs(loss - total / count) < 1e-5, `${loss} vs ${total / count}`);
  tf.dispose([inputIds, attentionMask, labels, logits]);
  model.dispose();
});

test('gradients match central finite differences, the word embeddings included', () => {
  const model = BertForTokenClassification.fromStateDict(CONFIG, randomStateDict(5), { seed: 1 });
  const { inputIds, attentionMask, labels } = batch();
  const { gradients } = model.computeGradients(
    { inputIds, attentionMask, labels },
    { training: false },
  );
  assert.deepEqual(new Set(gradients.keys()), new Set(model.trainableNames()));
  const lossAt = () => {
    const logits = model.forward(inputIds, attentionMask).logits;
    const value = model.loss(logits, labels).dataSync()[0]!;
    logits.dispose();
    return value;
  };
  // Word 5 appears in both rows; layer 1's intermediate and the classifier are dense.
  const probes: [string, number][] = [
    ['bert.embeddings.word_embeddings.weight', 5 * 16 + 3],
    ['bert.embeddings.position_embeddings.weight', 2 * 16 + 1],
    ['bert.embeddings.token_type_embeddings.weight', 4],
    ['bert.encoder.layer.1.intermediate.dense.weight', 37],
    ['bert.encoder.layer.0.attention.self.query.bias', 2],
    ['classifier.weight', 17],
  ];
  const h = 1e-2;
  for (const [name, index] of probes) {
    const nudge = (delta: number) =>
      model.parameters.update(name, (v) => void (v[index]! += delta));
    nudge(h);
    const up = lossAt();
    nudge(-2 * h);
    const down = lossAt();
    nudge(h);
    const numeric = (up - down) / (2 * h);
    const analytic = gradients.get(name)![index]!;
    assert.ok(
      Math.abs(numeric - analytic) <= 2e-3 * Math.max(1, Math.abs(numeric)),
      `${name}[${index}]: analytic ${analytic}, numeric ${numeric}`,
    );
  }
  // A word absent from the batch gets an exactly zero gradient row.
  assert.ok(
    gradients
      .get('bert.embeddings.word_embeddings.weight')!
      .subarray(30 * 16, 31 * 16)
      .every((g) => g === 0),
  );
  tf.dispose([inputIds, attentionMask, labels]);
  model.dispose();
});

test('micro-batches accumulated with the full batch normalizer equal the full-batch gradients', () => {
  const model = BertForTokenClassification.fromStateDict(CONFIG, randomStateDict(6), { seed: 1 });
  const full = batch();
  const whole = model.computeGradients(full, { training: false });
  const into = new Map<string, Float32Array>(
    [...whole.gradients].map(([name, g]) => [name, new Float32Array(g.length)]),
  );
  const labelled = 5;
  for (let row = 0; row < 2; row++) {
    const part = {
      inputIds: tf.slice(full.inputIds, [row, 0], [1, -1]),
      attentionMask: tf.slice(full.attentionMask, [row, 0], [1, -1]),
      labels: tf.slice(full.labels, [row, 0], [1, -1]),
    };
    model.computeGradients(part, { training: false, lossNormalizer: labelled, into });
    tf.dispose(Object.values(part));
  }
  let maxDiff = 0;
  for (const [name, g] of whole.gradients)
    for (let i = 0; i < g.length; i++)
      maxDiff = Math.max(maxDiff, Math.abs(g[i]! - into.get(name)![i]!));
  assert.ok(maxDiff < 1e-6, `accumulated gradients differ by ${maxDiff}`);
  tf.dispose(Object.values(full));
  model.dispose();
});

test('frozen parameters get no gradient and stay unchanged through an optimizer step', () => {
  const model = BertForTokenClassification.fromStateDict(CONFIG, randomStateDict(7), { seed: 1 });
  const frozen = model.parameters.names().filter((n) => n.startsWith('bert.embeddings.'));
  model.setFrozen(frozen);
  const { inputIds, attentionMask, labels } = batch();
  const beforeStep = model.toStateDict();
  const { gradients } = model.computeGradients({ inputIds, attentionMask, labels });
  for (const name of frozen) assert.ok(!gradients.has(name), `${name} has a gradient`);
  const optimizer = new AdamW([{ params: model.trainableNames(), lr: 1e-2, weightDecay: 0.01 }]);
  optimizer.step(gradients, model.parameters);
  const afterStep = model.toStateDict();
  for (const name of frozen)
    assert.deepEqual(afterStep.get(name)!.data, beforeStep.get(name)!.data);
  assert.notDeepEqual(
    afterStep.get('classifier.weight')!.data,
    beforeStep.get('classifier.weight')!.data,
  );
  tf.dispose([inputIds, attentionMask, labels]);
  model.dispose();
});

test('100 training steps leave tf.memory().numTensors unchanged and lower the loss', () => {
  const config = { ...CONFIG, hiddenDropoutProb: 0.1 };
  const model = BertForTokenClassification.fromStateDict(config, randomStateDict(8), { seed: 1 });
  const optimizer = new AdamW([{ params: model.trainableNames(), lr: 1e-2, weightDecay: 0.01 }]);
  const data = batch();
  const step = () => {
    const { loss, gradients } = model.computeGradients(data);
    clipGradNorm(gradients.values(), 1.0);
    optimizer.step(gradients, model.parameters);
    return loss;
  };
  const firstLoss = step();
  const baseline = tf.memory().numTensors;
  let lastLoss = firstLoss;
  for (let i = 1; i < 100; i++) {
    lastLoss = step();
    assert.equal(tf.memory().numTensors, baseline, `tensor count changed at step ${i}`);
  }
  assert.ok(lastLoss < firstLoss / 2, `loss ${firstLoss} → ${lastLoss}`);
  tf.dispose(Object.values(data));
  model.dispose();
});

test('withPredictions returns the argmax of the training forward itself (dropout on)', () => {
  const config = { ...CONFIG, hiddenDropoutProb: 0.3 };
  const model = BertForTokenClassification.fromStateDict(config, randomStateDict(8), { seed: 1 });
  const data = batch();
  // The same dropout stream position twice: once through forward, once through computeGradients.
  model.setDropoutSeed(5);
  const start = model.dropoutState();
  const logits = model.forward(data.inputIds, data.attentionMask, undefined, {
    training: true,
  }).logits;
  const expected = tf.argMax(logits, -1);
  model.setDropoutState(start);
  const result = model.computeGradients(data, { withPredictions: true });
  assert.deepEqual([...result.predictions!], [...expected.dataSync()]);
  const evalLogits = model.forward(data.inputIds, data.attentionMask).logits;
  const evalIds = tf.argMax(evalLogits, -1);
  assert.notDeepEqual(
    [...logits.dataSync()],
    [...evalLogits.dataSync()],
    'the training forward differs from eval mode',
  );
  assert.equal(model.computeGradients(data).predictions, undefined, 'only when asked');
  tf.dispose([logits, expected, evalLogits, evalIds, ...Object.values(data)]);
  model.dispose();
});

test('lossScale scales the gradients but not the returned loss', () => {
  const model = BertForTokenClassification.fromStateDict(CONFIG, randomStateDict(9), { seed: 1 });
  const data = batch();
  const plain = model.computeGradients(data, { training: false });
  const scaled = model.computeGradients(data, { training: false, lossScale: 1024 });
  assert.ok(Math.abs(plain.loss - scaled.loss) < 1e-6, `${plain.loss} vs ${scaled.loss}`);
  let worst = 0;
  for (const [name, g] of plain.gradients) {
    const s = scaled.gradients.get(name)!;
    for (let i = 0; i < g.length; i++)
      worst = Math.max(worst, Math.abs(s[i]! / 1024 - g[i]!) / (Math.abs(g[i]!) + 1e-6));
  }
  assert.ok(worst < 1e-4, `relative difference of unscaled gradients ${worst}`);
  tf.dispose(Object.values(data));
  model.dispose();
});
