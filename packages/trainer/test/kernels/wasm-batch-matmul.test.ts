/**
 * The SIMD batched matmul that replaces tfjs-wasm's scalar loop: products against a float64
 * reference on shapes that hit every tile remainder (rows mod 4, columns mod 8 and mod 4, empty
 * inner dimension, 4-D batches), cases it leaves to tfjs-wasm (2-D, transposed, broadcast), and
 * the committed wasm bytes against a fresh compile of batch-matmul.wat.
 * Tolerance: |ours - exact| <= 1e-5 * (1 + |exact|) (float32 sums over up to 130 products).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/backend.js';
import {
  installWasmBatchMatMul,
  uninstallWasmBatchMatMul,
} from '../../src/kernels/wasm-batch-matmul.js';

before(async () => {
  await initBackend('wasm');
});

function exactProduct(a: tf.Tensor, b: tf.Tensor): Float64Array {
  const [m, k] = a.shape.slice(-2) as [number, number];
  const n = b.shape[b.shape.length - 1]!;
  const batch = a.shape.slice(0, -2).reduce((x, y) => x * y, 1);
  const av = a.dataSync();
  const bv = b.dataSync();
  const out = new Float64Array(batch * m * n);
  for (let g = 0; g < batch; g++)
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        let sum = 0;
        for (let p = 0; p < k; p++) sum += av[g * m * k + i * k + p]! * bv[g * k * n + p * n + j]!;
        out[g * m * n + i * n + j] = sum;
      }
  return out;
}

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, label: string) {
  assert.equal(actual.length, expected.length, `${label}: length`);
  for (let i = 0; i < expected.length; i++)
    assert.ok(
      Math.abs(actual[i]! - expected[i]!) <= 1e-5 * (1 + Math.abs(expected[i]!)),
      `${label}: element ${i} is ${actual[i]}, expected ${expected[i]}`,
    );
}

test('batched products match a float64 reference on every tile remainder', () => {
  const shapes: number[][] = [
    [12, 4, 32, 8], // whole 4 x 8 tiles only
    [12, 9, 32, 13], // rows mod 4 = 1, columns mod 8 = 5 (one 1x4 tile + one single column)
    [3, 7, 130, 23], // long inner dimension, columns mod 8 = 7
    [5, 3, 5, 3], // fewer rows and columns than one tile
    [2, 6, 0, 10], // empty inner dimension: zeros
    [192, 48, 32, 48], // attention scores of 16 sentences x 12 heads at 48 tokens
  ];
  shapes.forEach(([g, m, k, n], index) => {
    const a = tf.randomNormal([g!, m!, k!], 0, 1, 'float32', 10 + index);
    const b = tf.randomNormal([g!, k!, n!], 0, 1, 'float32', 20 + index);
    const c = tf.matMul(a, b);
    assert.deepEqual(c.shape, [g, m, n]);
    assertClose(c.dataSync(), exactProduct(a, b), `${g}x${m}x${k}x${n}`);
    tf.dispose([a, b, c]);
  });
});

test('4-D batches ([B, heads, T, d]) keep their outer shape', () => {
  const a = tf.randomNormal([2, 3, 5, 8], 0, 1, 'float32', 1);
  const b = tf.randomNormal([2, 3, 8, 6], 0, 1, 'float32', 2);
  const c = tf.matMul(a, b);
  assert.deepEqual(c.shape, [2, 3, 5, 6]);
  assertClose(c.dataSync(), exactProduct(a, b), '4-D');
  tf.dispose([a, b, c]);
});

test('2-D, transposed and broadcast products still go through tfjs-wasm and are right', () => {
  const a = tf.randomNormal([4, 6, 5], 0, 1, 'float32', 3);
  const b = tf.randomNormal([4, 7, 5], 0, 1, 'float32', 4);
  const transposed = tf.matMul(a, b, false, true);
  const explicit = tf.matMul(a, tf.transpose(b, [0, 2, 1]));
  assertClose(transposed.dataSync(), explicit.dataSync(), 'transposeB');
  const a2 = tf.randomNormal([7, 5], 0, 1, 'float32', 9);
  const b2 = tf.randomNormal([5, 9], 0, 1, 'float32', 10);
  const plain = tf.matMul(a2, b2);
  assertClose(plain.dataSync(), exactProduct(a2, b2), '2-D');
  const shared = tf.randomNormal([1, 5, 3], 0, 1, 'float32', 5);
  const broadcast = tf.matMul(a, shared);
  assert.deepEqual(broadcast.shape, [4, 6, 3]);
  assertClose(broadcast.dataSync(), exactProduct(a, tf.tile(shared, [4, 1, 1])), 'broadcast');
  tf.dispose([a, b, transposed, explicit, a2, b2, plain, shared, broadcast]);
});

test('gradients through batched products match the float64 reference', () => {
  const a = tf.randomNormal([6, 5, 9], 0, 1, 'float32', 6);
  const b = tf.randomNormal([6, 9, 11], 0, 1, 'float32', 7);
  const probe = tf.randomNormal([6, 5, 11], 0, 1, 'float32', 8);
  const [da, db] = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(tf.matMul(x, y), probe)))(
    [a, b],
  );
  // d/da = probe · bᵀ, d/db = aᵀ · probe.
  assertClose(da!.dataSync(), exactProduct(probe, tf.transpose(b, [0, 2, 1])), 'da');
  assertClose(db!.dataSync(), exactProduct(tf.transpose(a, [0, 2, 1]), probe), 'db');
  tf.dispose([a, b, probe, da!, db!]);
});

test("batched products are bit-identical to tfjs-wasm's own kernel (k blocks of 48)", () => {
  const shapes: number[][] = [
    [12, 9, 1, 13],
    [12, 9, 47, 13],
    [12, 9, 48, 13],
    [12, 9, 49, 13],
    [6, 5, 97, 11],
    [4, 7, 130, 23],
    [192, 40, 32, 40],
    [192, 40, 40, 32],
  ];
  const cases = shapes.map(([g, m, k, n], index) => {
    // Zeros and exact cancellations too, where an implementation's zero signs would show.
    const a = tf.round(tf.randomNormal([g!, m!, k!], 0, 2, 'float32', 30 + index));
    const b = tf.randomNormal([g!, k!, n!], 0, 1, 'float32', 40 + index);
    return { label: `${g}x${m}x${k}x${n}`, a, b, ours: tf.matMul(a, b).dataSync() };
  });
  uninstallWasmBatchMatMul();
  try {
    for (const { label, a, b, ours } of cases) {
      const theirs = tf.matMul(a, b).dataSync();
      const differing = ours.findIndex((v, i) => !Object.is(v, theirs[i]));
      assert.equal(
        differing,
        -1,
        `${label}: element ${differing} ${ours[differing]} vs ${theirs[differing]}`,
      );
      tf.dispose([a, b]);
    }
  } finally {
    installWasmBatchMatMul();
  }
});

test('the committed wasm bytes are a fresh compile of batch-matmul.wat', () => {
  const result = spawnSync(process.execPath, ['tools/build-wasm-kernels.mjs', '--check'], {
    encoding: 'utf8',
  });
  assert.equal(result.status, 0, result.stderr);
});
