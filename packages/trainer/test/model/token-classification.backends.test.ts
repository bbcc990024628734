/**
 * The model is backend-agnostic: two training steps on the pure-JS `cpu` backend (where
 * parameters are updated by read-back and re-upload) give the wasm backend's results (in-place
 * heap updates) within float32 tolerance: gradients to 1e-6; parameters after two AdamW steps at
 * lr 1e-2 to 1e-3, because Adam's first steps move every parameter by about ±lr whatever the
 * gradient's size, so rounding-level gradients (e.g. the padding token's embedding row, 1e-10 on
 * one backend and 0 on the other) give visibly different updates.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/backend.js';
import { parseBertConfig } from '../../src/model/config.js';
import { SeededRandom } from '@ner-launch/common';
import { BertForTokenClassification } from '../../src/model/token-classification.js';
import { tokenClassificationShapes } from '../../src/model/weights/expected-parameters.js';
import type { StateDict } from '../../src/model/weights/state-dict.js';
import { AdamW } from '../../src/optim/adamw.js';
import { clipGradNorm } from '../../src/optim/grad-clip.js';

const CONFIG = parseBertConfig(
  {
    vocab_size: 30,
    hidden_size: 12,
    num_hidden_layers: 2,
    num_attention_heads: 3,
    intermediate_size: 20,
    max_position_embeddings: 16,
    hidden_dropout_prob: 0,
    attention_probs_dropout_prob: 0,
    id2label: { 0: 'O', 1: 'B-LOC', 2: 'I-LOC' },
  },
  'tiny/config.json',
);

function weights(): StateDict {
  const rng = new SeededRandom(9);
  const out: StateDict = new Map();
  for (const [name, shape] of tokenClassificationShapes({ ...CONFIG, numLabels: 3 }))
    out.set(name, {
      shape,
      data: rng.normalArray(
        shape.reduce((a, b) => a * b, 1),
        0.3,
      ),
    });
  return out;
}

function twoSteps(): { losses: number[]; first: Map<string, Float32Array>; state: StateDict } {
  const model = BertForTokenClassification.fromStateDict(CONFIG, weights(), { seed: 1 });
  const optimizer = new AdamW([{ params: model.trainableNames(), lr: 1e-2, weightDecay: 0.01 }]);
  const batch = {
    inputIds: tf.tensor2d(
      [
        [2, 4, 6, 8, 0],
        [2, 9, 3, 0, 0],
      ],
      undefined,
      'int32',
    ),
    attentionMask: tf.tensor2d(
      [
        [1, 1, 1, 1, 0],
        [1, 1, 1, 0, 0],
      ],
      undefined,
      'int32',
    ),
    labels: tf.tensor2d(
      [
        [-100, 1, 2, 0, -100],
        [-100, 1, 0, -100, -100],
      ],
      undefined,
      'int32',
    ),
  };
  const losses: number[] = [];
  let first = new Map<string, Float32Array>();
  for (let i = 0; i < 2; i++) {
    const { loss, gradients } = model.computeGradients(batch);
    if (i === 0) first = new Map([...gradients].map(([n, g]) => [n, new Float32Array(g)]));
    clipGradNorm(gradients.values(), 1.0);
    optimizer.step(gradients, model.parameters);
    losses.push(loss);
  }
  const state = model.toStateDict();
  tf.dispose(Object.values(batch));
  model.dispose();
  return { losses, first, state };
}

test('training steps on the cpu backend equal those on wasm within float32 tolerance', async () => {
  await initBackend('wasm');
  const wasm = twoSteps();
  await initBackend('cpu');
  try {
    const cpu = twoSteps();
    cpu.losses.forEach((loss, i) =>
      assert.ok(Math.abs(loss - wasm.losses[i]!) < 1e-5, `loss ${i}`),
    );
    let gradDiff = 0;
    for (const [name, grad] of wasm.first) {
      const other = cpu.first.get(name)!;
      for (let i = 0; i < grad.length; i++)
        gradDiff = Math.max(gradDiff, Math.abs(other[i]! - grad[i]!));
    }
    assert.ok(gradDiff < 1e-6, `gradients differ by ${gradDiff}`);
    let maxDiff = 0;
    for (const [name, tensor] of wasm.state) {
      const other = cpu.state.get(name)!.data;
      for (let i = 0; i < other.length; i++)
        maxDiff = Math.max(maxDiff, Math.abs(other[i]! - tensor.data[i]!));
    }
    assert.ok(maxDiff < 1e-3, `parameters differ by ${maxDiff}`);
  } finally {
    await initBackend('wasm');
  }
});
