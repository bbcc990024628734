/**
 * The fused CPU kernels of the tensorflow backend (tensorflow-fused-ops.cc) against the tfjs
 * composite ops they replace, on the same backend: LayerNorm and exact GELU values and
 * gradients within 2e-6 (two float32 operation orders; the kernels sum rows in double), dropout's
 * mask (its keep rate, its dependence on the seed only, the same mask in the backward pass), and
 * the AdamW update bit-identical to DeviceAdamW's 14 tensor ops (same float32 operations, same order,
 * no fused multiply-add).
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/backend.js';
import {
  setFusedOpsEnabled,
  tensorflowFusedOps,
  type FusedOps,
} from '../../src/backends/tensorflow-fused-ops.js';
import { activation } from '../../src/model/activation.js';
import { layerNorm } from '../../src/model/layer-norm.js';
import { ParameterStore } from '../../src/model/parameter-store.js';
import { DeviceAdamW } from '../../src/optim/device-adamw.js';
import { skipWithoutTensorflow } from '../../../../test/support/tensorflow.js';

const skip = skipWithoutTensorflow();
const TOLERANCE = 2e-6;

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
}

function seeded(shape: number[], seed: number, scale = 1, offset = 0): tf.Tensor {
  return tf.add(tf.mul(tf.randomNormal(shape, 0, 1, 'float32', seed), scale), offset);
}

/** Runs `work` with the fused kernels switched off (the composite path of the same backend). */
function withoutFusedOps<T>(work: () => T): T {
  setFusedOpsEnabled(false);
  try {
    return work();
  } finally {
    setFusedOpsEnabled(true);
  }
}

describe('fused kernels of the tensorflow backend', { skip }, () => {
  let fused: FusedOps;
  before(async () => {
    await initBackend('tensorflow');
    const ops = tensorflowFusedOps();
    assert.ok(ops, 'the install has the fused kernels (ner-launch setup tensorflow builds them)');
    fused = ops;
  });

  it('LayerNorm: values and gradients equal the composite ops', () => {
    // Rows wider than a SIMD lane multiple and more rows than one gradient block (64).
    const x = seeded([3, 50, 77], 1, 3, 0.5);
    const weight = seeded([77], 2, 0.5, 1);
    const bias = seeded([77], 3, 0.1);
    const upstream = seeded([3, 50, 77], 4);
    const run = (f: (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.Tensor) => ({
      value: f(x, weight, bias),
      grads: tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
        tf.sum(tf.mul(f(a, b, c), upstream)),
      )([x, weight, bias]),
    });
    const ours = run((a, b, c) => fused.layerNorm(a, b, c, 1e-12));
    const composite = withoutFusedOps(() => run((a, b, c) => layerNorm(a, b, c, 1e-12)));
    assert.ok(maxAbsDiff(ours.value, composite.value) < TOLERANCE, 'values');
    ['input', 'weight', 'bias'].forEach((name, i) => {
      const diff = maxAbsDiff(ours.grads[i]!, composite.grads[i]!);
      assert.ok(diff < TOLERANCE * 10, `gradient of ${name}: ${diff}`);
    });
  });

  it('exact GELU: values and gradient equal the composite ops (erf, exp over [-9, 9])', () => {
    const x = tf.linspace(-9, 9, 20001);
    const upstream = seeded([20001], 5);
    const run = (f: (a: tf.Tensor) => tf.Tensor) => ({
      value: f(x),
      grad: tf.grad((a: tf.Tensor) => tf.sum(tf.mul(f(a), upstream)))(x),
    });
    const ours = run((a) => fused.gelu(a));
    const composite = withoutFusedOps(() => run((a) => activation(a, 'gelu')));
    assert.ok(maxAbsDiff(ours.value, composite.value) < TOLERANCE * 4, 'values');
    assert.ok(maxAbsDiff(ours.grad, composite.grad) < TOLERANCE * 4, 'gradient');
  });

  it('dropout: keeps 1 - rate of the elements, scaled; the seed alone fixes the mask; backward reuses it', () => {
    const rate = 0.1;
    const x = tf.add(tf.abs(seeded([1000, 1000], 7)), 0.5); // no zeros of its own
    const y = fused.dropout(x, rate, 1234);
    const kept = tf.notEqual(y, 0);
    const keptFraction = tf.mean(tf.cast(kept, 'float32')).dataSync()[0]!;
    // 1e6 Bernoulli(0.9) draws: standard deviation 3e-4.
    assert.ok(Math.abs(keptFraction - (1 - rate)) < 2e-3, `kept ${keptFraction}`);
    const expected = tf.where(kept, tf.div(x, 1 - rate), tf.zerosLike(x));
    assert.ok(maxAbsDiff(y, expected) < 1e-6, 'kept elements are x / (1 - rate)');
    // The same seed gives the same mask on another tensor of the shape; another seed does not.
    const again = tf.notEqual(fused.dropout(tf.onesLike(x), rate, 1234), 0);
    assert.equal(tf.sum(tf.cast(tf.notEqual(again, kept), 'int32')).dataSync()[0], 0);
    const other = tf.notEqual(fused.dropout(tf.onesLike(x), rate, 1235), 0);
    assert.ok(tf.sum(tf.cast(tf.notEqual(other, kept), 'int32')).dataSync()[0]! > 100000);
    // Gradient: the upstream gradient through the same mask and scale.
    const upstream = seeded([1000, 1000], 8);
    const grad = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(fused.dropout(a, rate, 1234), upstream)))(
      x,
    );
    const expectedGrad = tf.where(kept, tf.div(upstream, 1 - rate), tf.zerosLike(x));
    assert.ok(maxAbsDiff(grad, expectedGrad) < 1e-6, 'gradient');
  });

  it('AdamW: three steps bit-identical to the tensor-op update', () => {
    const shape = [37, 29];
    const run = () => {
      const initial = { data: seeded(shape, 6).dataSync() as Float32Array, shape };
      const params = ParameterStore.fromStateDict(new Map([['w', initial]]));
      const optimizer = new DeviceAdamW([{ params: ['w'], lr: 1e-3, weightDecay: 0.01 }]);
      for (let step = 0; step < 3; step++)
        optimizer.step(new Map([['w', tf.keep(seeded(shape, 10 + step, 0.1))]]), params);
      const result = params.get('w').dataSync().slice();
      const moments = optimizer.stateOf('w')!;
      return { result, moments };
    };
    const ours = run();
    const composite = withoutFusedOps(run);
    assert.deepEqual(ours.result, composite.result);
    assert.deepEqual(ours.moments.expAvg, composite.moments.expAvg);
    assert.deepEqual(ours.moments.expAvgSq, composite.moments.expAvgSq);
  });
});
