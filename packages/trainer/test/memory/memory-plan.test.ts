/**
 * The memory plan: the full batch when it fits, balanced micro-batches when it does not,
 * recomputation only when micro-batching alone cannot fit, the backends' limits, and a clear
 * error (estimate, limit, what to change) when nothing fits.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describePlan, MemoryPlanError, planMemory } from '../../src/memory/memory-plan.js';
import { parseBertConfig } from '../../src/model/config.js';

const BERT_BASE_FINBERT = parseBertConfig(
  { vocab_size: 50105, num_labels: 13 },
  'finbert/config.json',
);
const SMALL = parseBertConfig(
  {
    vocab_size: 100,
    hidden_size: 32,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    intermediate_size: 64,
    num_labels: 5,
  },
  'small/config.json',
);
const GiB = 2 ** 30;

test('a small model keeps the whole batch and says so', () => {
  const plan = planMemory({
    config: SMALL,
    batchSize: 16,
    seqLen: 128,
    backend: 'wasm',
    worldSize: 1,
    mode: 'train',
  });
  assert.equal(plan.microBatchSize, 16);
  assert.equal(plan.recompute, false);
  assert.match(describePlan(plan), /full batch fits/);
});

test('bert-base at 16 x 128 on wasm is split into micro-batches that fit the heap', () => {
  const plan = planMemory({
    config: BERT_BASE_FINBERT,
    batchSize: 16,
    seqLen: 128,
    backend: 'wasm',
    worldSize: 1,
    mode: 'train',
  });
  assert.ok(plan.microBatchSize < 16);
  assert.ok(plan.estimateBytes <= plan.limitBytes);
  assert.ok(plan.limitBytes < 4 * GiB);
  assert.ok(plan.fullBatchEstimateBytes > 4 * GiB);
  assert.equal(plan.accumulationSteps, Math.ceil(16 / plan.microBatchSize));
  assert.match(describePlan(plan), /sentence\(s\) at a time .* same result/);
});

test('bert-base at 16 x 512 needs recomputation, with balanced slices', () => {
  const plan = planMemory({
    config: BERT_BASE_FINBERT,
    batchSize: 16,
    seqLen: 512,
    backend: 'wasm',
    worldSize: 1,
    mode: 'train',
  });
  assert.equal(plan.recompute, true);
  assert.equal(
    16 % plan.microBatchSize === 0 ||
      plan.microBatchSize * plan.accumulationSteps - 16 < plan.accumulationSteps,
    true,
  );
  assert.match(describePlan(plan), /recomputation/);
  const off = () =>
    planMemory({
      config: BERT_BASE_FINBERT,
      batchSize: 16,
      seqLen: 512,
      backend: 'wasm',
      worldSize: 1,
      mode: 'train',
      recompute: 'off',
    });
  assert.throws(off, MemoryPlanError);
});

test('evaluation batches are planned for the forward pass alone', () => {
  const train = planMemory({
    config: BERT_BASE_FINBERT,
    batchSize: 16,
    seqLen: 512,
    backend: 'wasm',
    worldSize: 1,
    mode: 'train',
    recompute: 'off',
    limitBytes: 1000 * GiB,
  });
  const evalPlan = planMemory({
    config: BERT_BASE_FINBERT,
    batchSize: 16,
    seqLen: 512,
    backend: 'wasm',
    worldSize: 1,
    mode: 'eval',
    limitBytes: 1000 * GiB,
  });
  assert.equal(evalPlan.recompute, false);
  assert.equal(evalPlan.estimate.hostBytes, 0);
  assert.ok(evalPlan.estimateBytes < train.estimateBytes / 2);
});

test('a forced too-small limit stops with the estimate, the limit and what to change', () => {
  assert.throws(
    () =>
      planMemory({
        config: BERT_BASE_FINBERT,
        batchSize: 16,
        seqLen: 512,
        backend: 'wasm',
        worldSize: 1,
        mode: 'train',
        limitBytes: 300 * 2 ** 20,
      }),
    (error: unknown) => {
      assert.ok(error instanceof MemoryPlanError);
      assert.match(error.message, /training at 16 x 512 tokens does not fit on backend wasm/);
      assert.match(
        error.message,
        /estimated peak [\d.]+ (GiB|MiB) per process even down to 1 sentence at a time with layer recomputation/,
      );
      assert.match(error.message, /limit 300 MiB \(the given memory limit\)/);
      assert.match(error.message, /Change: a shorter --max_len/);
      assert.ok(error.estimateBytes > error.limitBytes);
      return true;
    },
  );
});

test('the limit follows the backend: wasm heap, system memory shared by local processes', () => {
  const wasm = planMemory({
    config: SMALL,
    batchSize: 8,
    seqLen: 64,
    backend: 'wasm',
    worldSize: 1,
    mode: 'train',
    systemMemoryBytes: 64 * GiB,
  });
  assert.equal(wasm.limitBytes, 4 * GiB - 384 * 2 ** 20);
  const crowded = planMemory({
    config: SMALL,
    batchSize: 8,
    seqLen: 64,
    backend: 'wasm',
    worldSize: 8,
    mode: 'train',
    systemMemoryBytes: 8 * GiB,
  });
  assert.equal(crowded.limitBytes, Math.floor((0.85 * 8 * GiB) / 8));
  const tensorflow = planMemory({
    config: SMALL,
    batchSize: 8,
    seqLen: 64,
    backend: 'tensorflow',
    worldSize: 2,
    mode: 'train',
    systemMemoryBytes: 32 * GiB,
  });
  assert.equal(tensorflow.limitBytes, Math.floor((0.85 * 32 * GiB) / 2));
});

test('an explicit micro-batch size is used, or refused with the reason', () => {
  const plan = planMemory({
    config: SMALL,
    batchSize: 8,
    seqLen: 32,
    backend: 'wasm',
    worldSize: 1,
    mode: 'train',
    microBatchSize: 3,
  });
  assert.equal(plan.microBatchSize, 3);
  assert.equal(plan.accumulationSteps, 3);
  assert.throws(
    () =>
      planMemory({
        config: BERT_BASE_FINBERT,
        batchSize: 16,
        seqLen: 512,
        backend: 'wasm',
        worldSize: 1,
        mode: 'train',
        microBatchSize: 16,
        recompute: 'off',
      }),
    /even micro-batch 16 .* or let the plan choose the micro-batch size/,
  );
});
