/**
 * The heap guard turns tfjs-wasm's bare heap failures into an error naming the step, the batch
 * shape and the plan's estimate; other errors pass through unchanged.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  HeapExhaustedError,
  isHeapExhaustion,
  withHeapGuard,
} from '../../src/memory/heap-guard.js';
import { planMemory } from '../../src/memory/memory-plan.js';
import { parseBertConfig } from '../../src/model/config.js';

// WebAssembly's own error class (not in the TS lib this project compiles against).
const { RuntimeError } = (
  globalThis as unknown as { WebAssembly: { RuntimeError: ErrorConstructor } }
).WebAssembly;

const config = parseBertConfig({ vocab_size: 50105, num_labels: 13 }, 'finbert/config.json');
const plan = planMemory({
  config,
  batchSize: 16,
  seqLen: 128,
  backend: 'wasm',
  worldSize: 1,
  mode: 'train',
});

test('wasm heap failures are recognised, ordinary errors are not', () => {
  assert.ok(isHeapExhaustion(new RuntimeError('memory access out of bounds')));
  assert.ok(
    isHeapExhaustion(new RuntimeError('Aborted(). Build with -sASSERTIONS for more info.')),
  );
  assert.ok(isHeapExhaustion(new RuntimeError('Aborted(OOM)')));
  assert.ok(
    isHeapExhaustion(new RangeError('WebAssembly.Memory.grow(): Maximum memory size exceeded')),
  );
  assert.ok(isHeapExhaustion(new RangeError('Array buffer allocation failed')));
  assert.ok(
    !isHeapExhaustion(new Error('sequence length 600 exceeds max_position_embeddings 512')),
  );
});

test('a heap failure inside a step becomes an error naming step, shape and estimate', () => {
  assert.throws(
    () =>
      withHeapGuard({ step: 7, batchShape: [16, 128], plan }, () => {
        throw new RuntimeError('memory access out of bounds');
      }),
    (error: unknown) => {
      assert.ok(error instanceof HeapExhaustedError);
      assert.match(error.message, /^Out of tensor memory at step 7, batch shape \[16, 128\]/);
      assert.match(
        error.message,
        /the memory plan estimated [\d.]+ GiB against a limit of [\d.]+ GiB \(1 sentence\(s\) at a time\)/,
      );
      assert.match(error.message, /Lower --batch_size or --max_len/);
      assert.match(error.message, /original error: memory access out of bounds/);
      assert.ok(error.cause instanceof RuntimeError);
      return true;
    },
  );
});

test('async steps are guarded too, and other errors pass through unchanged', async () => {
  await assert.rejects(
    withHeapGuard({ step: 'evaluation batch 3', batchShape: [32, 512] }, async () => {
      throw new RuntimeError('Aborted()');
    }),
    /Out of tensor memory at step evaluation batch 3, batch shape \[32, 512\]: no memory plan was made/,
  );
  const plain = new Error('bad label');
  assert.throws(
    () =>
      withHeapGuard({ step: 1, batchShape: [1, 1] }, () => {
        throw plain;
      }),
    (e) => e === plain,
  );
  assert.equal(
    withHeapGuard({ step: 1, batchShape: [1, 1] }, () => 42),
    42,
  );
});
