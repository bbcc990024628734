/** The intermediate layer's activations, as HF's ACT2FN defines them. */
import * as tf from '@tensorflow/tfjs-core';
import type { HiddenAct } from './config.js';

const SQRT_HALF = Math.SQRT1_2;
const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

/** Applies `act` elementwise: gelu = exact erf form, gelu_new = tanh approximation, relu. */
export function activation(x: tf.Tensor, act: HiddenAct): tf.Tensor {
  switch (act) {
    case 'gelu':
      // 0.5 x (1 + erf(x / sqrt 2))
      return tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, SQRT_HALF)), 1));
    case 'gelu_new': {
      // 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
      const inner = tf.mul(tf.add(x, tf.mul(tf.pow(x, 3), 0.044715)), SQRT_2_OVER_PI);
      return tf.mul(tf.mul(x, 0.5), tf.add(tf.tanh(inner), 1));
    }
    case 'relu':
      return tf.relu(x);
  }
}
