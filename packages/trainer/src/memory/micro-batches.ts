/**
 * Gradient accumulation inside one batch (issue 7): a padded host batch is cut into row
 * slices of at most `microBatchSize` sentences, each slice's gradients are added into the same
 * host buffers, and every slice's summed token loss is divided by the whole batch's labelled
 * count, so the accumulated gradients and loss equal the full batch's (to float32 rounding).
 * Also the forward-only counterpart for evaluation and prediction.
 */
import * as tf from '@tensorflow/tfjs-core';
import type {
  BertForTokenClassification,
  GradientOptions,
  GradientResult,
  Gradients,
} from '../model/token-classification.js';
import type { SeededRandom } from '../model/seeded-random.js';
import { batchTensors, disposeBatch, type HostBatch } from '../train/batches.js';
import { computeGradientsWithRecompute } from './recompute.js';

/** How one training batch is run: rows per slice and whether layers are recomputed. */
export interface StepExecution {
  microBatchSize: number;
  recompute: boolean;
}

/** Rows [start, end) of a padded batch, trimmed to their own longest sentence. */
export function sliceHostBatch(batch: HostBatch, start: number, end: number): HostBatch {
  const rows = end - start;
  let seqLen = 1;
  for (let r = start; r < end; r++) {
    let length = 0;
    for (let t = 0; t < batch.seqLen; t++)
      if (batch.attentionMask[r * batch.seqLen + t]) length = t + 1;
    seqLen = Math.max(seqLen, length);
  }
  const take = (source: Int32Array) => {
    const out = new Int32Array(rows * seqLen);
    for (let r = 0; r < rows; r++)
      out.set(
        source.subarray((start + r) * batch.seqLen, (start + r) * batch.seqLen + seqLen),
        r * seqLen,
      );
    return out;
  };
  const labels = take(batch.labels);
  let labelledCount = 0;
  for (const label of labels) if (label !== -100) labelledCount++;
  return {
    batchSize: rows,
    seqLen,
    inputIds: take(batch.inputIds),
    attentionMask: take(batch.attentionMask),
    labels,
    labelledCount,
  };
}

/** Options for one training batch run in slices. */
export interface MicroBatchOptions extends GradientOptions {
  /** Dropout seeds for recomputed layers (see recompute.ts). */
  rng?: SeededRandom;
  /** Called after each slice (progress for long steps). */
  onSlice?: (done: number, total: number) => void;
  /** Stop after this many slices (measurements only: the gradients are then partial). */
  maxSlices?: number;
}

/**
 * The loss and host gradients of a whole batch, computed `execution.microBatchSize` rows at a
 * time (with per-layer recomputation when `execution.recompute`). Call it where the training
 * loop would call `model.computeGradients(batchTensors(host), options)`.
 */
export function computeStepGradients(
  model: BertForTokenClassification,
  host: HostBatch,
  execution: StepExecution,
  options: MicroBatchOptions = {},
): GradientResult {
  const size = Math.max(1, Math.min(execution.microBatchSize, host.batchSize));
  const normalizer = options.lossNormalizer ?? Math.max(1, host.labelledCount);
  const { rng, onSlice, maxSlices, ...modelOptions } = options;
  let gradients: Gradients | undefined = options.into;
  let loss = 0;
  // Argmax ids laid out over the whole batch's padded length (slices are trimmed).
  const predictions = options.withPredictions
    ? new Int32Array(host.batchSize * host.seqLen)
    : undefined;
  const total = Math.ceil(host.batchSize / size);
  const slices = Math.min(total, maxSlices ?? total);
  for (let index = 0; index < slices; index++) {
    const start = index * size;
    const slice =
      size >= host.batchSize
        ? host
        : sliceHostBatch(host, start, Math.min(host.batchSize, start + size));
    const tensors = batchTensors(slice);
    try {
      const sliceOptions = { ...modelOptions, lossNormalizer: normalizer, into: gradients };
      const result = execution.recompute
        ? computeGradientsWithRecompute(model, tensors, { ...sliceOptions, rng })
        : model.computeGradients(tensors, sliceOptions);
      gradients = result.gradients;
      loss += result.loss;
      if (predictions && result.predictions)
        for (let r = 0; r < slice.batchSize; r++)
          predictions.set(
            result.predictions.subarray(r * slice.seqLen, (r + 1) * slice.seqLen),
            (start + r) * host.seqLen,
          );
    } finally {
      disposeBatch(tensors);
    }
    onSlice?.(index + 1, total);
  }
  const result: GradientResult = { loss, gradients: gradients ?? new Map() };
  if (predictions) result.predictions = predictions;
  return result;
}

/** Eval-mode logits of a padded batch as a host array [B, T, numLabels], `size` rows at a time. */
export function forwardLogitsInMicroBatches(
  model: BertForTokenClassification,
  host: HostBatch,
  microBatchSize: number,
): Float32Array {
  const numLabels = model.config.id2label.length;
  const out = new Float32Array(host.batchSize * host.seqLen * numLabels);
  const size = Math.max(1, Math.min(microBatchSize, host.batchSize));
  for (let start = 0; start < host.batchSize; start += size) {
    const end = Math.min(host.batchSize, start + size);
    const rows = end - start;
    const shape: [number, number] = [rows, host.seqLen];
    const from = start * host.seqLen;
    const to = end * host.seqLen;
    const inputIds = tf.tensor2d(host.inputIds.subarray(from, to), shape, 'int32');
    const attentionMask = tf.tensor2d(host.attentionMask.subarray(from, to), shape, 'int32');
    try {
      const { logits } = model.forward(inputIds, attentionMask);
      out.set(logits.dataSync() as Float32Array, from * numLabels);
      logits.dispose();
    } finally {
      inputIds.dispose();
      attentionMask.dispose();
    }
  }
  return out;
}

/** What evaluation needs from one padded batch. */
export interface BatchPredictions {
  /** Argmax label ids, row-major [B, T] over the batch's padded length. */
  predictions: Int32Array;
  /** Sum of the token losses over labelled positions (divide by the labelled count for the mean). */
  lossSum: number;
}

/**
 * Eval-mode predictions and summed token loss of a padded batch, `microBatchSize` rows at a
 * time (the forward keeps every intermediate until it returns, so large evaluation batches
 * need slicing too). Call it where evaluation runs `model.forward` + `model.loss(…, 1)` + argmax.
 */
export function evaluateInMicroBatches(
  model: BertForTokenClassification,
  host: HostBatch,
  microBatchSize: number,
): BatchPredictions {
  const predictions = new Int32Array(host.batchSize * host.seqLen);
  let lossSum = 0;
  const size = Math.max(1, Math.min(microBatchSize, host.batchSize));
  for (let start = 0; start < host.batchSize; start += size) {
    const end = Math.min(host.batchSize, start + size);
    const shape: [number, number] = [end - start, host.seqLen];
    const from = start * host.seqLen;
    const to = end * host.seqLen;
    const inputIds = tf.tensor2d(host.inputIds.subarray(from, to), shape, 'int32');
    const attentionMask = tf.tensor2d(host.attentionMask.subarray(from, to), shape, 'int32');
    const labels = tf.tensor2d(host.labels.subarray(from, to), shape, 'int32');
    try {
      const { logits } = model.forward(inputIds, attentionMask);
      try {
        const loss = model.loss(logits, labels, 1);
        lossSum += loss.dataSync()[0]!;
        loss.dispose();
        const ids = tf.argMax(logits, -1);
        predictions.set(ids.dataSync() as Int32Array, from);
        ids.dispose();
      } finally {
        logits.dispose();
      }
    } finally {
      inputIds.dispose();
      attentionMask.dispose();
      labels.dispose();
    }
  }
  return { predictions, lossSum };
}
