/**
 * Where a backward pass puts its parameter gradients. Backends with a bounded heap (wasm) move
 * each gradient to the host at once, into Float32Arrays the all-reduce and the host optimizer
 * work on; backends without one (tensorflow) keep them as tensors, summed on the device, so a
 * step reads nothing back unless gradients must cross processes.
 *
 * The word-embedding gradient is where they differ most: on the host it is the gathered rows'
 * gradient scattered into the table (tfjs-wasm has no UnsortedSegmentSum, and a dense
 * [vocab, hidden] gradient in the heap would cost as much as the table); on the device it is the
 * backend's own gather gradient, so the model differentiates with respect to the table itself.
 */
import * as tf from '@tensorflow/tfjs-core';
import { currentBackendProfile } from '../backends/profile.js';

/** Gradients by parameter name as host arrays. */
export type Gradients = Map<string, Float32Array>;

/** Gradients by parameter name as tensors the sink owns. */
export type TensorGradients = Map<string, tf.Tensor>;

/** Receives parameter gradients; takes ownership of every tensor handed to it. */
export interface GradientSink {
  /**
   * 'rows': the model differentiates with respect to the gathered word-embedding rows and
   * calls `addRows`; 'table': with respect to the embedding table, through `add`.
   */
  readonly wordEmbeddingGradient: 'rows' | 'table';
  /** Adds the dense gradient of parameter `name`. */
  add(name: string, grad: tf.Tensor): void;
  /** Adds the gradient of the rows `ids` [B, T] gathered from table `name` ([B, T, H]). */
  addRows(name: string, ids: tf.Tensor, rowGrads: tf.Tensor, shape: readonly number[]): void;
}

/** Sums gradients into host Float32Arrays (optionally continuing `into`). */
export class HostGradientSink implements GradientSink {
  readonly wordEmbeddingGradient = 'rows' as const;
  readonly gradients: Gradients;

  constructor(into?: Gradients) {
    this.gradients = into ?? new Map();
  }

  add(name: string, grad: tf.Tensor): void {
    try {
      const data = grad.dataSync() as Float32Array;
      const buffer = this.gradients.get(name);
      if (buffer) addInto(buffer, data, name);
      // tfjs-wasm's dataSync copies out of the heap; other backends may hand out their storage.
      else
        this.gradients.set(
          name,
          currentBackendProfile().dataSyncCopies ? data : new Float32Array(data),
        );
    } finally {
      grad.dispose();
    }
  }

  addRows(name: string, ids: tf.Tensor, rowGrads: tf.Tensor, shape: readonly number[]): void {
    try {
      const [vocab, width] = shape as [number, number];
      let buffer = this.gradients.get(name);
      if (!buffer) {
        buffer = new Float32Array(vocab * width);
        this.gradients.set(name, buffer);
      }
      const rows = rowGrads.dataSync() as Float32Array;
      const tokens = ids.dataSync();
      for (let t = 0; t < tokens.length; t++) {
        const row = tokens[t]! * width;
        const from = t * width;
        for (let j = 0; j < width; j++) buffer[row + j]! += rows[from + j]!;
      }
    } finally {
      rowGrads.dispose();
    }
  }
}

/** Sums gradients as tensors on the backend's device. */
export class DeviceGradientSink implements GradientSink {
  readonly wordEmbeddingGradient = 'table' as const;
  readonly gradients: TensorGradients = new Map();

  add(name: string, grad: tf.Tensor): void {
    const previous = this.gradients.get(name);
    if (!previous) {
      this.gradients.set(name, tf.keep(grad));
      return;
    }
    if (previous.size !== grad.size)
      throw new Error(
        `gradient for ${name} has ${grad.size} elements, the accumulated one ${previous.size}`,
      );
    this.gradients.set(name, tf.keep(tf.add(previous, grad)));
    previous.dispose();
    grad.dispose();
  }

  addRows(name: string, ids: tf.Tensor, rowGrads: tf.Tensor, shape: readonly number[]): void {
    const dense = tf.tidy(() =>
      tf.unsortedSegmentSum(
        tf.reshape(rowGrads, [-1, shape[1]!]),
        tf.reshape(ids, [-1]),
        shape[0]!,
      ),
    );
    rowGrads.dispose();
    this.add(name, dense);
  }

  /** Frees every accumulated gradient. */
  clear(): void {
    for (const grad of this.gradients.values()) grad.dispose();
    this.gradients.clear();
  }
}

function addInto(buffer: Float32Array, data: Float32Array, name: string): void {
  if (buffer.length !== data.length)
    throw new Error(
      `gradient buffer for ${name} has ${buffer.length} elements, expected ${data.length}`,
    );
  for (let i = 0; i < data.length; i++) buffer[i]! += data[i]!;
}
