/**
 * The model's parameters as tfjs tensors by HF name. Updates go through host arrays: on wasm the
 * tensor's heap memory is rewritten in place (no second copy inside the 4 GB heap); elsewhere
 * the values are read back, updated and re-uploaded one parameter at a time.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { HostTensor, StateDict } from './weights/state-dict.js';
import { forgetWeight } from './weight-transposes.js';

interface HeapBackend {
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array;
}

function heapBackend(): HeapBackend | undefined {
  const backend = tf.backend() as unknown as Partial<HeapBackend>;
  return tf.getBackend() === 'wasm' && typeof backend.typedArrayFromHeap === 'function'
    ? (backend as HeapBackend)
    : undefined;
}

/** Named parameter tensors kept alive outside any tf.tidy scope. */
export class ParameterStore {
  private readonly tensors = new Map<string, tf.Tensor>();

  /** Uploads every tensor of `stateDict` (in iteration order). */
  static fromStateDict(stateDict: StateDict): ParameterStore {
    const store = new ParameterStore();
    for (const [name, tensor] of stateDict) store.set(name, tensor);
    return store;
  }

  /** Adds or replaces a parameter from host data (copied into the tfjs heap). */
  set(name: string, host: HostTensor): void {
    const tensor = tf.keep(tf.tensor(host.data, host.shape, 'float32'));
    const old = this.tensors.get(name);
    if (old) {
      forgetWeight(old);
      old.dispose();
    }
    this.tensors.set(name, tensor);
  }

  /** Replaces a parameter's tensor with `tensor` (same shape; the store takes ownership). */
  replace(name: string, tensor: tf.Tensor): void {
    const old = this.get(name);
    if (!sameShape(old.shape, tensor.shape))
      throw new Error(
        `parameter ${name} has shape [${old.shape.join(', ')}], the replacement [${tensor.shape.join(', ')}]`,
      );
    forgetWeight(old);
    old.dispose();
    this.tensors.set(name, tf.keep(tensor));
  }

  /** The tensor for `name`; throws naming the parameter if absent. */
  get(name: string): tf.Tensor {
    const tensor = this.tensors.get(name);
    if (!tensor) throw new Error(`model parameter ${name} does not exist`);
    return tensor;
  }

  has(name: string): boolean {
    return this.tensors.has(name);
  }

  /** Parameter names in registration (HF state-dict) order. */
  names(): string[] {
    return [...this.tensors.keys()];
  }

  /** Shape of a parameter. */
  shape(name: string): number[] {
    return this.get(name).shape;
  }

  /** Element count of a parameter. */
  size(name: string): number {
    return this.get(name).size;
  }

  /** A host copy of one parameter. */
  read(name: string): HostTensor {
    const tensor = this.get(name);
    return { shape: [...tensor.shape], data: tensor.dataSync() as Float32Array };
  }

  /** Host copies of all parameters, HF names. */
  toStateDict(): StateDict {
    const out: StateDict = new Map();
    for (const name of this.tensors.keys()) out.set(name, this.read(name));
    return out;
  }

  /**
   * Lets `update` rewrite a parameter's values. `update` must not create tfjs tensors (on wasm
   * it receives a view of the heap, which a heap growth would invalidate).
   */
  update(name: string, update: (values: Float32Array) => void): void {
    const tensor = this.get(name);
    forgetWeight(tensor);
    const backend = heapBackend();
    if (backend) {
      update(backend.typedArrayFromHeap(tensor));
      return;
    }
    const values = tensor.dataSync() as Float32Array;
    update(values);
    this.set(name, { shape: tensor.shape, data: values });
  }

  /** Frees every parameter tensor. */
  dispose(): void {
    for (const tensor of this.tensors.values()) {
      forgetWeight(tensor);
      tensor.dispose();
    }
    this.tensors.clear();
  }
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}
