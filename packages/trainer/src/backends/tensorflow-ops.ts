/**
 * Any libtensorflow op by name, run eagerly through tfjs-node's backend (its `executeOp`
 * binding). For the few places where TensorFlow has a better kernel than the one tfjs-node
 * maps a tfjs op to; the outputs are ordinary tfjs tensors (tidy, dispose, autodiff around them).
 */
import * as tf from '@tensorflow/tfjs-core';

interface TensorflowBinding {
  TF_ATTR_TYPE: number;
  TF_ATTR_BOOL: number;
  TF_FLOAT: number;
  TF_INT32: number;
}

interface OpAttribute {
  name: string;
  type: number;
  value: unknown;
}

interface TensorflowKernelBackend {
  binding: TensorflowBinding;
  executeSingleOutput(name: string, attrs: OpAttribute[], inputs: tf.Tensor[]): tf.Tensor;
}

/** An attribute of a TensorFlow op: a dtype (`T`, `Tidx`, ...) or a boolean flag. */
export type TensorflowAttribute =
  { name: string; dtype: 'float32' | 'int32' } | { name: string; flag: boolean };

/** Runs the TensorFlow op `name` with one output on the current (tensorflow) backend. */
export function runTensorflowOp(
  name: string,
  attributes: readonly TensorflowAttribute[],
  inputs: tf.Tensor[],
): tf.Tensor {
  const backend = tf.backend() as unknown as TensorflowKernelBackend;
  const { binding } = backend;
  return backend.executeSingleOutput(
    name,
    attributes.map((attribute) =>
      'dtype' in attribute
        ? {
            name: attribute.name,
            type: binding.TF_ATTR_TYPE,
            value: attribute.dtype === 'float32' ? binding.TF_FLOAT : binding.TF_INT32,
          }
        : { name: attribute.name, type: binding.TF_ATTR_BOOL, value: attribute.flag },
    ),
    inputs,
  );
}
