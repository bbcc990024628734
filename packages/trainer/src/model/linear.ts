/** nn.Linear with HF's weight layout ([out, in]): y = x W^T + b over the last axis. */
import * as tf from '@tensorflow/tfjs-core';
import { matMul, swapLastAxes } from './matmul.js';

/** Applies `weight` ([out, in]) and `bias` ([out]) to the last axis of `x`. */
export function linear(x: tf.Tensor, weight: tf.Tensor, bias: tf.Tensor): tf.Tensor {
  const inFeatures = x.shape[x.shape.length - 1]!;
  const outFeatures = weight.shape[0]!;
  const flat = tf.reshape(x, [-1, inFeatures]);
  const y = tf.add(matMul(flat, swapLastAxes(weight)), bias);
  return tf.reshape(y, [...x.shape.slice(0, -1), outFeatures]);
}
