/**
 * The memory estimate against what tfjs really holds: peak tensor bytes (tf.profile) of a
 * training step, a recomputed step and an evaluation forward on shapes unlike the calibration
 * ones, within 25 % (issue 7's bound; measured agreement is about 2-5 %), and the parameter
 * count against the model's.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/backend.js';
import { estimateMemory } from '../../src/memory/memory-estimate.js';
import { parameterCounts } from '../../src/model/model-size.js';
import {
  computeStepGradients,
  forwardLogitsInMicroBatches,
} from '../../src/memory/micro-batches.js';
import { parseBertConfig, type BertConfig } from '../../src/model/config.js';
import { BertForTokenClassification } from '../../src/model/token-classification.js';
import type { HostBatch } from '../../src/batches.js';

function config(layers: number, hidden: number, heads: number, intermediate: number): BertConfig {
  return parseBertConfig(
    {
      vocab_size: 700,
      hidden_size: hidden,
      num_hidden_layers: layers,
      num_attention_heads: heads,
      intermediate_size: intermediate,
      max_position_embeddings: 128,
      num_labels: 7,
    },
    'estimate/config.json',
  );
}

function hostBatch(rows: number, seqLen: number): HostBatch {
  return {
    batchSize: rows,
    seqLen,
    inputIds: new Int32Array(rows * seqLen).map((_, i) => 3 + ((i * 37) % 690)),
    attentionMask: new Int32Array(rows * seqLen).fill(1),
    labels: new Int32Array(rows * seqLen).map((_, i) => (i * 11) % 7),
    labelledCount: rows * seqLen,
  };
}

before(async () => {
  await initBackend('wasm');
});

const CASES = [
  { kind: 'train', cfg: config(2, 80, 5, 200), rows: 3, seqLen: 40 },
  { kind: 'train', cfg: config(4, 48, 3, 96), rows: 5, seqLen: 72 },
  { kind: 'recompute', cfg: config(4, 96, 6, 160), rows: 3, seqLen: 56 },
  { kind: 'eval', cfg: config(3, 112, 4, 300), rows: 6, seqLen: 48 },
] as const;

for (const { kind, cfg, rows, seqLen } of CASES)
  test(`the ${kind} estimate for ${cfg.numHiddenLayers} layers x ${cfg.hiddenSize} at ${rows} x ${seqLen} is within 25% of tfjs's peak tensor bytes`, async () => {
    const model = BertForTokenClassification.fromStateDict(cfg, new Map(), { seed: 5 });
    try {
      const host = hostBatch(rows, seqLen);
      const profile = await tf.profile(() => {
        if (kind === 'eval') forwardLogitsInMicroBatches(model, host, rows);
        else
          computeStepGradients(
            model,
            host,
            { microBatchSize: rows, recompute: kind === 'recompute' },
            { training: true },
          );
      });
      const estimate = estimateMemory(cfg, {
        rows,
        seqLen,
        mode: kind === 'eval' ? 'eval' : 'train',
        recompute: kind === 'recompute',
      });
      const tensors = estimate.parameterBytes + estimate.weightWorkBytes + estimate.activationBytes;
      const ratio = tensors / profile.peakBytes;
      assert.ok(
        ratio > 0.75 && ratio < 1.25,
        `estimate ${tensors} vs measured ${profile.peakBytes} (ratio ${ratio.toFixed(3)})`,
      );
    } finally {
      model.dispose();
    }
  });

test('the parameter count matches the model built from the config (pooler included)', () => {
  const cfg = config(2, 64, 4, 128);
  const model = BertForTokenClassification.fromStateDict(cfg, new Map(), { seed: 1 });
  try {
    const built = model.parameters.names().reduce((sum, n) => sum + model.parameters.size(n), 0);
    const pooler = cfg.hiddenSize * cfg.hiddenSize + cfg.hiddenSize;
    assert.ok([built, built + pooler].includes(parameterCounts(cfg).total));
  } finally {
    model.dispose();
  }
});

test('training state outside the heap is counted separately (AdamW moments and gradient buffers)', () => {
  const cfg = parseBertConfig({ vocab_size: 50105, num_labels: 13 }, 'finbert/config.json');
  const train = estimateMemory(cfg, { rows: 1, seqLen: 128, mode: 'train', recompute: false });
  const { total } = parameterCounts(cfg);
  assert.equal(train.hostBytes, 3 * total * 4);
  assert.ok(train.heapBytes < 4 * 2 ** 30);
  assert.equal(
    estimateMemory(cfg, { rows: 1, seqLen: 128, mode: 'eval', recompute: false }).hostBytes,
    0,
  );
});
