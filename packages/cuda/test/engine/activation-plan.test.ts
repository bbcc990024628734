import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  LAYER_BUFFERS,
  planActivations,
  SHARED_BUFFERS,
} from '../../src/engine/activation-plan.js';
import { BERT_BASE_DIMS, TINY_DIMS } from '../../../../test/support/cuda-dims.js';

test('activation buffers are 256-byte aligned, distinct and inside the allocation', () => {
  const plan = planActivations(TINY_DIMS, 3, 7, 2);
  const offsets = [
    ...SHARED_BUFFERS.map((name) => plan.shared[name]),
    ...plan.hidden,
    ...plan.layers.flatMap((layer) => LAYER_BUFFERS.map((name) => layer[name])),
  ];
  assert.equal(new Set(offsets).size, offsets.length);
  for (const offset of offsets) {
    assert.equal(offset % 256, 0);
    assert.ok(offset < plan.totalBytes);
  }
  assert.equal(plan.hidden.length, TINY_DIMS.numLayers + 1);
  // probs [B, nh, T, T] in bf16 is followed by the next buffer exactly (already aligned here).
  const probs = plan.layers[0]!.probs;
  assert.equal(plan.layers[0]!.context - probs, Math.ceil((3 * 4 * 7 * 7 * 2) / 256) * 256);
});

test('bert-base at 16 x 512 in fp32 needs about 7.5 GB of activations, half that in bf16', () => {
  const fp32 = planActivations(BERT_BASE_DIMS, 16, 512, 4).totalBytes;
  const bf16 = planActivations(BERT_BASE_DIMS, 16, 512, 2).totalBytes;
  assert.ok(fp32 > 7e9 && fp32 < 8.5e9, `fp32 ${fp32}`);
  assert.ok(Math.abs(bf16 / fp32 - 0.5) < 0.01, `bf16 / fp32 = ${bf16 / fp32}`);
});
