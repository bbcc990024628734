/**
 * Dropout masks drawn by libtensorflow itself. tfjs's `randomUniform` fills a JavaScript array
 * one number at a time and uploads it (tens of nanoseconds per element on one thread: a large
 * share of a MiniLM step on the tensorflow backend); TensorFlow's StatelessRandomUniform draws
 * the same kind of numbers multi-threaded, counter-based (Philox), so a (shape, seed) pair gives
 * the same mask on every run, thread count and resume. Reached through tfjs-node's backend,
 * which runs any TensorFlow op by name.
 */
import * as tf from '@tensorflow/tfjs-core';

interface TensorflowBinding {
  TF_ATTR_TYPE: number;
  TF_FLOAT: number;
  TF_INT32: number;
}

interface TensorflowKernelBackend {
  binding: TensorflowBinding;
  executeSingleOutput(
    name: string,
    attrs: { name: string; type: number; value: unknown }[],
    inputs: tf.Tensor[],
  ): tf.Tensor;
}

/** Uniform [0, 1) float32 numbers of `shape` from the 31-bit `seed`. */
export function statelessUniform(shape: readonly number[], seed: number): tf.Tensor {
  const backend = tf.backend() as unknown as TensorflowKernelBackend;
  const { binding } = backend;
  return tf.tidy(() =>
    backend.executeSingleOutput(
      'StatelessRandomUniform',
      [
        { name: 'dtype', type: binding.TF_ATTR_TYPE, value: binding.TF_FLOAT },
        { name: 'T', type: binding.TF_ATTR_TYPE, value: binding.TF_INT32 },
        { name: 'Tseed', type: binding.TF_ATTR_TYPE, value: binding.TF_INT32 },
      ],
      [tf.tensor1d(shape as number[], 'int32'), tf.tensor1d([seed | 0, 0x2545f491], 'int32')],
    ),
  );
}
