import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkBatch, labelledCount, type HostBatch } from '../../src/engine/host-batch.js';
import { TINY_DIMS } from '../../../../test/support/cuda-dims.js';

function batch(overrides: Partial<HostBatch> = {}): HostBatch {
  return {
    batchSize: 2,
    seqLen: 3,
    inputIds: Int32Array.of(1, 2, 0, 4, 5, 6),
    attentionMask: Int32Array.of(1, 1, 0, 1, 1, 1),
    labels: Int32Array.of(-100, 3, -100, 0, 4, -100),
    ...overrides,
  };
}

test('a valid batch passes and its labelled positions are counted', () => {
  checkBatch(TINY_DIMS, batch());
  assert.equal(labelledCount(batch()), 3);
});

test('bad batches are one line naming the position and the limit', () => {
  assert.throws(
    () => checkBatch(TINY_DIMS, batch({ inputIds: Int32Array.of(1, 2, 0, 4, 50, 6) })),
    /^Error: input_ids\[1\]\[1\] = 50 is outside 0\.\.49 \(vocab_size 50\)$/,
  );
  assert.throws(
    () => checkBatch(TINY_DIMS, batch({ labels: Int32Array.of(-100, 5, -100, 0, 4, -100) })),
    /^Error: labels\[0\]\[1\] = 5 is neither -100 nor a label id in 0\.\.4$/,
  );
  assert.throws(
    () => checkBatch(TINY_DIMS, batch({ attentionMask: Int32Array.of(1, 1, 0, 0, 0, 0) })),
    /^Error: attention_mask row 1 is all zeros$/,
  );
  assert.throws(
    () => checkBatch(TINY_DIMS, batch({ labels: new Int32Array(5) })),
    /^Error: labels has 5 values for batch \[2, 3\]$/,
  );
  assert.throws(
    () => checkBatch(TINY_DIMS, { ...batch(), seqLen: 25, batchSize: 1 }),
    /^Error: sequence length 25 exceeds max_position_embeddings 24$/,
  );
});
