/**
 * Matrix product that, on wasm and cpu, never asks for a transposed operand. tfjs-wasm's BatchMatMul
 * falls back to a naive loop when transposeA/transposeB is set (about 10x slower than its XNNPACK
 * path, measured here), and tfjs's own gradient of matMul uses exactly those flags. So operands
 * are transposed explicitly (a cheap copy), in the forward pass and in the custom gradient.
 */
import * as tf from '@tensorflow/tfjs-core';
import { currentBackendProfile } from '../backends/profile.js';

/** Swaps the last two axes. */
export function swapLastAxes(x: tf.Tensor): tf.Tensor {
  const rank = x.shape.length;
  const perm = [...Array(rank).keys()];
  perm[rank - 2] = rank - 1;
  perm[rank - 1] = rank - 2;
  return tf.transpose(x, perm);
}

const plainMatMul = tf.customGrad((...inputs: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [a, b, save] = inputs as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
  save([a, b]);
  return {
    value: tf.matMul(a, b),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [savedA, savedB] = saved as [tf.Tensor, tf.Tensor];
      return [tf.matMul(dy, swapLastAxes(savedB)), tf.matMul(swapLastAxes(savedA), dy)];
    },
  };
});

/**
 * a [..., M, K] x b [..., K, N] (or b [..., N, K] with `transposeB`), equal batch dimensions or
 * both 2-D. Backends whose profile says so get the transposed operand as a flag.
 */
export function matMul(a: tf.Tensor, b: tf.Tensor, transposeB = false): tf.Tensor {
  if (currentBackendProfile().nativeTransposedMatmul) return tf.matMul(a, b, false, transposeB);
  return plainMatMul(a, transposeB ? swapLastAxes(b) : b);
}
