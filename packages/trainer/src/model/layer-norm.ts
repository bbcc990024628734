/** nn.LayerNorm over the last axis (biased variance, eps inside the square root, as torch). */
import * as tf from '@tensorflow/tfjs-core';

/** (x - mean) / sqrt(var + eps) * weight + bias over the last axis. */
export function layerNorm(
  x: tf.Tensor,
  weight: tf.Tensor,
  bias: tf.Tensor,
  eps: number,
): tf.Tensor {
  const axis = x.shape.length - 1;
  const mean = tf.mean(x, axis, true);
  const centred = tf.sub(x, mean);
  const variance = tf.mean(tf.square(centred), axis, true);
  const normed = tf.mul(centred, tf.rsqrt(tf.add(variance, eps)));
  return tf.add(tf.mul(normed, weight), bias);
}
