/**
 * Dropout masks drawn by libtensorflow itself. tfjs's `randomUniform` fills a JavaScript array
 * one number at a time and uploads it (tens of nanoseconds per element on one thread: a large
 * share of a MiniLM step on the tensorflow backend); TensorFlow's StatelessRandomUniform draws
 * the same kind of numbers multi-threaded, counter-based (Philox), so a (shape, seed) pair gives
 * the same mask on every run, thread count and resume.
 */
import * as tf from '@tensorflow/tfjs-core';
import { runTensorflowOp } from './tensorflow-ops.js';

/** Uniform [0, 1) float32 numbers of `shape` from the 31-bit `seed`. */
export function statelessUniform(shape: readonly number[], seed: number): tf.Tensor {
  return tf.tidy(() =>
    runTensorflowOp(
      'StatelessRandomUniform',
      [
        { name: 'dtype', dtype: 'float32' },
        { name: 'T', dtype: 'int32' },
        { name: 'Tseed', dtype: 'int32' },
      ],
      [tf.tensor1d(shape as number[], 'int32'), tf.tensor1d([seed | 0, 0x2545f491], 'int32')],
    ),
  );
}
