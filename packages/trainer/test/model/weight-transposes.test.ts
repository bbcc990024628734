/**
 * The cached weight transposes of linear layers: bit-identical outputs and gradients to the
 * per-call transposes they replace, and never stale once a parameter is rewritten in place
 * (wasm) or replaced.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/backend.js';
import { linear } from '../../src/model/linear.js';
import { matMul, swapLastAxes } from '../../src/model/matmul.js';
import { ParameterStore } from '../../src/model/parameter-store.js';
import { forgetWeight, weightCacheBytes } from '../../src/model/weight-transposes.js';

before(async () => {
  await initBackend('wasm');
});

function values(seed: number, size: number): Float32Array {
  let state = seed;
  return Float32Array.from({ length: size }, () => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return (state / 2 ** 32) * 2 - 1;
  });
}

function store(): ParameterStore {
  return ParameterStore.fromStateDict(
    new Map([
      ['w', { shape: [24, 16], data: values(1, 24 * 16) }],
      ['b', { shape: [24], data: values(2, 24) }],
    ]),
  );
}

/** Output and gradients (input, weight) of sum(f(x, w, b) * probe). */
function withGradients(
  f: (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => tf.Tensor,
  params: ParameterStore,
) {
  const x = tf.tensor3d(values(3, 2 * 5 * 16), [2, 5, 16]);
  const probe = tf.tensor3d(values(4, 2 * 5 * 24), [2, 5, 24]);
  const { value, grads } = tf.valueAndGrads((xs: tf.Tensor, ws: tf.Tensor) =>
    tf.sum(tf.mul(f(xs, ws, params.get('b')), probe)),
  )([x, params.get('w')]);
  const out = {
    y: f(x, params.get('w'), params.get('b')).dataSync() as Float32Array,
    loss: value.dataSync()[0],
    dx: grads[0]!.dataSync() as Float32Array,
    dw: grads[1]!.dataSync() as Float32Array,
  };
  tf.dispose([x, probe, value, ...grads]);
  return out;
}

const uncached = (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) =>
  tf.reshape(tf.add(matMul(tf.reshape(x, [-1, 16]), swapLastAxes(w)), b), [2, 5, 24]);

test('linear with cached transposes is bit-identical to per-call transposes, gradients too', () => {
  const params = store();
  try {
    const cached = withGradients(linear, params);
    assert.ok(weightCacheBytes() > 0, 'the weight was cached');
    const plain = withGradients(uncached, params);
    assert.deepEqual(cached.y, plain.y);
    assert.equal(cached.loss, plain.loss);
    assert.deepEqual(cached.dx, plain.dx);
    assert.deepEqual(cached.dw, plain.dw);
  } finally {
    params.dispose();
  }
  assert.equal(weightCacheBytes(), 0, 'freeing the parameters empties the cache');
});

test('a parameter rewritten in place or replaced is never served from a stale cache', () => {
  const params = store();
  const x = tf.tensor2d(values(5, 3 * 16), [3, 16]);
  try {
    const first = linear(x, params.get('w'), params.get('b'));
    first.dispose();
    params.update('w', (w) => w.forEach((v, i) => (w[i] = v * -2 + 0.5)));
    const afterUpdate = linear(x, params.get('w'), params.get('b'));
    const fresh = tf.add(matMul(x, swapLastAxes(params.get('w'))), params.get('b'));
    assert.deepEqual(afterUpdate.dataSync(), fresh.dataSync());
    params.set('w', { shape: [24, 16], data: values(6, 24 * 16) });
    const afterSet = linear(x, params.get('w'), params.get('b'));
    const freshSet = tf.add(matMul(x, swapLastAxes(params.get('w'))), params.get('b'));
    assert.deepEqual(afterSet.dataSync(), freshSet.dataSync());
    tf.dispose([afterUpdate, fresh, afterSet, freshSet]);
  } finally {
    x.dispose();
    params.dispose();
  }
});

test('a weight freed outside ParameterStore loses its cached copies at the next miss', () => {
  const x = tf.tensor2d(values(7, 2 * 16), [2, 16]);
  const bias = tf.zeros([24]);
  const first = tf.tensor2d(values(8, 24 * 16), [24, 16]);
  linear(x, first, bias).dispose();
  const cachedForFirst = weightCacheBytes();
  assert.ok(cachedForFirst > 0);
  first.dispose();
  const second = tf.tensor2d(values(9, 24 * 16), [24, 16]);
  linear(x, second, bias).dispose();
  assert.equal(weightCacheBytes(), cachedForFirst, 'only the live weight is cached');
  forgetWeight(second);
  tf.dispose([x, bias, second]);
  assert.equal(weightCacheBytes(), 0);
});
