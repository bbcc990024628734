/**
 * Any libtensorflow op by name, run eagerly through tfjs-node's backend (its `executeOp`
 * binding): TensorFlow kernels tfjs-node does not map a tfjs op to, and the project's own fused
 * kernels (tensorflow-fused-ops.cc). The outputs are ordinary tfjs tensors (tidy, dispose,
 * autodiff around them).
 */
import * as tf from '@tensorflow/tfjs-core';

interface TensorflowBinding {
  TF_ATTR_TYPE: number;
  TF_ATTR_BOOL: number;
  TF_ATTR_FLOAT: number;
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
  executeMultipleOutputs(
    name: string,
    attrs: OpAttribute[],
    inputs: tf.Tensor[],
    numOutputs: number,
  ): tf.Tensor[];
}

/** An attribute of a TensorFlow op: a dtype (`T`, `Tidx`, ...), a boolean flag or a float. */
export type TensorflowAttribute =
  | { name: string; dtype: 'float32' | 'int32' }
  | { name: string; flag: boolean }
  | { name: string; float: number };

function toOpAttribute(binding: TensorflowBinding, attribute: TensorflowAttribute): OpAttribute {
  if ('dtype' in attribute)
    return {
      name: attribute.name,
      type: binding.TF_ATTR_TYPE,
      value: attribute.dtype === 'float32' ? binding.TF_FLOAT : binding.TF_INT32,
    };
  if ('flag' in attribute)
    return { name: attribute.name, type: binding.TF_ATTR_BOOL, value: attribute.flag };
  return { name: attribute.name, type: binding.TF_ATTR_FLOAT, value: attribute.float };
}

/** Runs the TensorFlow op `name`, which has `outputs` outputs, on the current (tensorflow) backend. */
export function runTensorflowOpOutputs(
  name: string,
  attributes: readonly TensorflowAttribute[],
  inputs: tf.Tensor[],
  outputs: number,
): tf.Tensor[] {
  const backend = tf.backend() as unknown as TensorflowKernelBackend;
  return backend.executeMultipleOutputs(
    name,
    attributes.map((attribute) => toOpAttribute(backend.binding, attribute)),
    inputs,
    outputs,
  );
}

/** Runs the TensorFlow op `name` with one output on the current (tensorflow) backend. */
export function runTensorflowOp(
  name: string,
  attributes: readonly TensorflowAttribute[],
  inputs: tf.Tensor[],
): tf.Tensor {
  return runTensorflowOpOutputs(name, attributes, inputs, 1)[0]!;
}
