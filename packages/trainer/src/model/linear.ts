/** nn.Linear with HF's weight layout ([out, in]): y = x W^T + b over the last axis. */
import * as tf from '@tensorflow/tfjs-core';
import { currentBackendProfile } from '../backends/profile.js';
import { matMul, swapLastAxes } from './matmul.js';
import { cachedRestored, cachedTranspose } from './weight-transposes.js';

/**
 * x [M, in] times weight [out, in] transposed, with the weight's transposes taken from the
 * cache (weight-transposes.ts). The same products as `matMul(x, swapLastAxes(weight))` under
 * autodiff, so the results are bit-identical to the uncached path.
 */
const projectWithCachedWeight = tf.customGrad((...inputs: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [x, weight, save] = inputs as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
  save([x]);
  return {
    value: tf.matMul(x, cachedTranspose(weight)!),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [savedX] = saved as [tf.Tensor];
      // The weight itself, not a saved clone: the cache is keyed by the parameter tensor.
      const restored = cachedRestored(weight)!;
      return [tf.matMul(dy, restored), swapLastAxes(tf.matMul(swapLastAxes(savedX), dy))];
    },
  };
});

/** Applies `weight` ([out, in]) and `bias` ([out]) to the last axis of `x`. */
export function linear(x: tf.Tensor, weight: tf.Tensor, bias: tf.Tensor): tf.Tensor {
  const inFeatures = x.shape[x.shape.length - 1]!;
  const outFeatures = weight.shape[0]!;
  const flat = tf.reshape(x, [-1, inFeatures]);
  const product = currentBackendProfile().nativeTransposedMatmul
    ? matMul(flat, weight, true)
    : cachedTranspose(weight)
      ? projectWithCachedWeight(flat, weight)
      : matMul(flat, weight, true);
  const y = tf.add(product, bias);
  return tf.reshape(y, [...x.shape.slice(0, -1), outFeatures]);
}
