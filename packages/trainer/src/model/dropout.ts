/** Inverted dropout with seeded masks; the identity in eval mode. */
import * as tf from '@tensorflow/tfjs-core';
import { currentBackendProfile } from '../backends/profile.js';
import type { SeededRandom } from '@ner-launch/common';

/** Train/eval mode plus the generator that seeds each dropout mask. */
export interface DropoutContext {
  training: boolean;
  rng: SeededRandom;
}

/** Zeroes each element with probability `rate` and scales the rest by 1/(1-rate) when training. */
export function dropout(x: tf.Tensor, rate: number, context: DropoutContext): tf.Tensor {
  if (!context.training || rate === 0) return x;
  const seed = context.rng.int();
  const profile = currentBackendProfile();
  const fused = profile.fusedOps?.();
  if (fused) return fused.dropout(x, rate, seed);
  const draw = profile.uniform;
  const uniform = draw ? draw(x.shape, seed) : tf.randomUniform(x.shape, 0, 1, 'float32', seed);
  const keep = tf.cast(tf.greaterEqual(uniform, rate), 'float32');
  return tf.mul(x, tf.mul(keep, 1 / (1 - rate)));
}
