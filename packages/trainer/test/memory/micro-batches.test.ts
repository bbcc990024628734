/**
 * Micro-batching and per-layer recomputation give the full batch's results: gradients, loss
 * and the parameters after an AdamW step on a small model where everything fits (dropout off,
 * as the masks are drawn per slice). Tolerance: max abs 1e-5 on parameters (issue 7).
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/backend.js';
import { WASM_SLICE_COSTS } from '../../src/backends/wasm.js';
import { sliceCostModel } from '../../src/memory/length-groups.js';
import {
  computeStepGradients,
  evaluateInMicroBatches,
  type StepExecution,
} from '../../src/memory/micro-batches.js';
import { planMemory } from '../../src/memory/memory-plan.js';
import { parseBertConfig } from '../../src/model/config.js';
import {
  BertForTokenClassification,
  type Gradients,
} from '../../src/model/token-classification.js';
import { AdamW } from '../../src/optim/adamw.js';
import { collate, type HostBatch } from '../../src/batches.js';

const CONFIG = parseBertConfig(
  {
    vocab_size: 60,
    hidden_size: 32,
    num_hidden_layers: 3,
    num_attention_heads: 4,
    intermediate_size: 48,
    max_position_embeddings: 40,
    num_labels: 5,
  },
  'small/config.json',
);

/** Six sentences of different lengths (padding inside the batch), some positions ignored. */
function hostBatch(): HostBatch {
  const lengths = [12, 7, 20, 3, 16, 9];
  const examples = lengths.map((length, s) => ({
    inputIds: Array.from({ length }, (_, t) => 2 + ((s * 13 + t * 7) % 55)),
    labels: Array.from({ length }, (_, t) => (t === 0 || t === length - 1 ? -100 : (s + t) % 5)),
    wordIds: Array.from({ length }, (_, t) => t),
  }));
  return collate(examples as never, 0);
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

function stepParameters(execution: StepExecution) {
  const model = BertForTokenClassification.fromStateDict(CONFIG, new Map(), { seed: 3 });
  try {
    const { loss, gradients, predictions } = computeStepGradients(model, hostBatch(), execution, {
      training: false,
      withPredictions: true,
    });
    const optimizer = new AdamW([{ params: model.trainableNames(), lr: 1e-3, weightDecay: 0.01 }]);
    optimizer.step(gradients, model.parameters);
    const params = new Map(model.parameters.names().map((n) => [n, model.parameters.read(n).data]));
    return { loss, gradients, params, predictions: predictions! };
  } finally {
    model.dispose();
  }
}

function compare(
  name: string,
  full: ReturnType<typeof stepParameters>,
  other: ReturnType<typeof stepParameters>,
) {
  assert.ok(Math.abs(full.loss - other.loss) < 1e-5, `${name}: loss ${other.loss} vs ${full.loss}`);
  let paramDiff = 0;
  for (const [n, values] of full.params)
    paramDiff = Math.max(paramDiff, maxAbsDiff(values, other.params.get(n)!));
  let gradDiff = 0;
  for (const [n, g] of full.gradients as Gradients)
    gradDiff = Math.max(gradDiff, maxAbsDiff(g, other.gradients.get(n)!));
  assert.equal(other.gradients.size, full.gradients.size);
  // Predictions of the training forward, laid out over the full batch's padded length.
  const host = hostBatch();
  for (let r = 0; r < host.batchSize; r++)
    for (let t = 0; t < host.seqLen; t++)
      if (host.attentionMask[r * host.seqLen + t])
        assert.equal(
          other.predictions[r * host.seqLen + t],
          full.predictions[r * host.seqLen + t],
          `${name}: prediction ${r},${t}`,
        );
  assert.ok(paramDiff <= 1e-5, `${name}: parameters differ by ${paramDiff}`);
  assert.ok(gradDiff <= 1e-5, `${name}: gradients differ by ${gradDiff}`);
}

/** Predictions agree on every attended position (slices are trimmed, so padding may differ). */
function assertSamePredictions(host: HostBatch, actual: Int32Array, expected: Int32Array): void {
  for (let r = 0; r < host.batchSize; r++)
    for (let t = 0; t < host.seqLen; t++)
      if (host.attentionMask[r * host.seqLen + t])
        assert.equal(
          actual[r * host.seqLen + t],
          expected[r * host.seqLen + t],
          `row ${r}, position ${t}`,
        );
}

before(async () => {
  await initBackend('wasm');
});

test('an auto-micro-batched step equals the full-batch step (parameters within 1e-5)', () => {
  const host = hostBatch();
  // A limit just under the full batch's estimate forces the plan to split the batch.
  const full = planMemory({
    config: CONFIG,
    batchSize: 6,
    seqLen: host.seqLen,
    backend: 'wasm',
    worldSize: 1,
    mode: 'train',
  });
  const plan = planMemory({
    config: CONFIG,
    batchSize: 6,
    seqLen: host.seqLen,
    backend: 'wasm',
    worldSize: 1,
    mode: 'train',
    recompute: 'off',
    limitBytes: full.estimateBytes - 1,
  });
  assert.ok(
    plan.microBatchSize < 6 && plan.microBatchSize >= 1,
    `plan chose ${plan.microBatchSize}`,
  );
  compare(
    'micro-batched',
    stepParameters({ microBatchSize: 6, recompute: false }),
    stepParameters(plan),
  );
});

test('per-layer recomputation gives the same gradients and step as plain autodiff', () => {
  const full = stepParameters({ microBatchSize: 6, recompute: false });
  compare('recompute', full, stepParameters({ microBatchSize: 6, recompute: true }));
  compare(
    'recompute + micro-batches',
    full,
    stepParameters({ microBatchSize: 2, recompute: true }),
  );
});

test('recomputation with dropout on is deterministic for a given seed and leaks no tensors', async () => {
  const { SeededRandom } = await import('@ner-launch/common');
  const model = BertForTokenClassification.fromStateDict(CONFIG, new Map(), { seed: 3 });
  try {
    const run = () =>
      computeStepGradients(
        model,
        hostBatch(),
        { microBatchSize: 3, recompute: true },
        {
          training: true,
          rng: new SeededRandom(9),
        },
      );
    // The first run also fills the weight-transpose cache (kept until the weights change).
    const a = run();
    const before = tf.memory().numTensors;
    const b = run();
    assert.equal(tf.memory().numTensors, before);
    assert.equal(a.loss, b.loss);
    for (const [n, g] of a.gradients) assert.equal(maxAbsDiff(g, b.gradients.get(n)!), 0, n);
  } finally {
    model.dispose();
  }
});

test('length-grouped slices (rows sorted by length, each slice trimmed) give the full-batch step', () => {
  const full = stepParameters({ microBatchSize: 6, recompute: false });
  // No fixed cost per slice: the cheapest split cuts the sorted rows apart, so rows run out of
  // batch order and at lengths shorter than the batch's.
  const eager = { overheadTokens: 0, attentionPerPosition: 0.01 };
  compare(
    'grouped',
    full,
    stepParameters({ microBatchSize: 6, recompute: false, lengthGrouping: eager }),
  );
  compare(
    'grouped + recompute, at most 2 rows',
    full,
    stepParameters({ microBatchSize: 2, recompute: true, lengthGrouping: eager }),
  );
  compare(
    'grouped with the wasm cost model',
    full,
    stepParameters({
      microBatchSize: 6,
      recompute: false,
      lengthGrouping: sliceCostModel(CONFIG, WASM_SLICE_COSTS),
    }),
  );
});

test('length-grouped evaluation gives the whole batch predictions and summed loss', () => {
  const model = BertForTokenClassification.fromStateDict(CONFIG, new Map(), { seed: 3 });
  try {
    const host = hostBatch();
    const full = evaluateInMicroBatches(model, host, 6);
    const grouped = evaluateInMicroBatches(model, host, 6, {
      overheadTokens: 0,
      attentionPerPosition: 0.01,
    });
    assertSamePredictions(host, grouped.predictions, full.predictions);
    assert.ok(Math.abs(grouped.lossSum - full.lossSum) <= 1e-4 * Math.abs(full.lossSum));
  } finally {
    model.dispose();
  }
});

test('evaluation in micro-batches gives the full batch predictions and summed loss', () => {
  const model = BertForTokenClassification.fromStateDict(CONFIG, new Map(), { seed: 3 });
  try {
    const host = hostBatch();
    const full = evaluateInMicroBatches(model, host, 6);
    const sliced = evaluateInMicroBatches(model, host, 4);
    assertSamePredictions(host, sliced.predictions, full.predictions);
    assert.ok(Math.abs(sliced.lossSum - full.lossSum) <= 1e-4 * Math.abs(full.lossSum));
    // The same figures as the model's own forward + loss on the whole batch.
    const ids = tf.tensor2d(host.inputIds, [host.batchSize, host.seqLen], 'int32');
    const mask = tf.tensor2d(host.attentionMask, [host.batchSize, host.seqLen], 'int32');
    const labels = tf.tensor2d(host.labels, [host.batchSize, host.seqLen], 'int32');
    const { logits } = model.forward(ids, mask);
    const loss = model.loss(logits, labels, 1);
    assert.ok(Math.abs(loss.dataSync()[0]! - full.lossSum) <= 1e-4 * Math.abs(full.lossSum));
    tf.dispose([ids, mask, labels, logits, loss]);
  } finally {
    model.dispose();
  }
});

test('a loss scale multiplies recomputed gradients, not the returned loss (as computeGradients)', () => {
  const model = BertForTokenClassification.fromStateDict(CONFIG, new Map(), { seed: 3 });
  try {
    const run = (recompute: boolean, lossScale: number) =>
      computeStepGradients(
        model,
        hostBatch(),
        { microBatchSize: 3, recompute },
        {
          training: false,
          lossScale,
        },
      );
    const plain = run(false, 8);
    const recomputed = run(true, 8);
    const unscaled = run(true, 1);
    assert.ok(Math.abs(recomputed.loss - unscaled.loss) < 1e-6);
    assert.ok(Math.abs(recomputed.loss - plain.loss) < 1e-5);
    for (const [n, g] of unscaled.gradients) {
      const scaled = recomputed.gradients.get(n)!;
      assert.ok(
        maxAbsDiff(
          scaled,
          g.map((x) => x * 8),
        ) <= 1e-4,
        n,
      );
      assert.ok(maxAbsDiff(scaled, plain.gradients.get(n)!) <= 1e-4, n);
    }
  } finally {
    model.dispose();
  }
});
