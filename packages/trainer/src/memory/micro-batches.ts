/**
 * Gradient accumulation inside one batch (issue 7): a padded host batch is cut into row
 * slices of at most `microBatchSize` sentences, each slice's gradients are added into the same
 * host buffers, and every slice's summed token loss is divided by the whole batch's labelled
 * count, so the accumulated gradients and loss equal the full batch's (to float32 rounding).
 * Also the forward-only counterpart for evaluation and prediction.
 */
import * as tf from '@tensorflow/tfjs-core';
import { HostGradientSink, type GradientSink } from '../model/gradient-sink.js';
import type {
  BertForTokenClassification,
  GradientOptions,
  GradientResult,
  StepOutput,
} from '../model/token-classification.js';
import type { SeededRandom } from '@ner-launch/common';
import { batchTensors, disposeBatch, type HostBatch } from '../batches.js';
import { lengthGroups, type SliceCostModel } from './length-groups.js';
import { accumulateGradientsWithRecompute } from './recompute.js';

/** How one training batch is run: rows per slice and whether layers are recomputed. */
export interface StepExecution {
  microBatchSize: number;
  recompute: boolean;
  /**
   * Group rows by length into cost-chosen slices of at most `microBatchSize` (see
   * length-groups.ts); without it, slices are consecutive rows.
   */
  lengthGrouping?: SliceCostModel;
}

/** Row r's unpadded length: its last attended position + 1 (at least 1). */
function rowLength(batch: HostBatch, r: number): number {
  let length = 1;
  for (let t = 0; t < batch.seqLen; t++)
    if (batch.attentionMask[r * batch.seqLen + t]) length = t + 1;
  return length;
}

/** Each row's unpadded length. */
export function rowLengths(batch: HostBatch): number[] {
  return Array.from({ length: batch.batchSize }, (_, r) => rowLength(batch, r));
}

/** The given rows of a padded batch, in that order, trimmed to their own longest sentence. */
export function selectHostRows(batch: HostBatch, rows: readonly number[]): HostBatch {
  const seqLen = Math.max(1, ...rows.map((r) => rowLength(batch, r)));
  const take = (source: Int32Array) => {
    const out = new Int32Array(rows.length * seqLen);
    rows.forEach((r, i) =>
      out.set(source.subarray(r * batch.seqLen, r * batch.seqLen + seqLen), i * seqLen),
    );
    return out;
  };
  const labels = take(batch.labels);
  let labelledCount = 0;
  for (const label of labels) if (label !== -100) labelledCount++;
  return {
    batchSize: rows.length,
    seqLen,
    inputIds: take(batch.inputIds),
    attentionMask: take(batch.attentionMask),
    labels,
    labelledCount,
  };
}

/** Rows [start, end) of a padded batch, trimmed to their own longest sentence. */
export function sliceHostBatch(batch: HostBatch, start: number, end: number): HostBatch {
  return selectHostRows(
    batch,
    Array.from({ length: end - start }, (_, i) => start + i),
  );
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
  const { into, ...rest } = options;
  const sink = new HostGradientSink(into);
  const { loss, predictions } = accumulateStepGradients(model, host, execution, sink, rest);
  return predictions
    ? { loss, gradients: sink.gradients, predictions }
    : { loss, gradients: sink.gradients };
}

/** `computeStepGradients` with the gradients handed to `sink` (host or device). */
export function accumulateStepGradients(
  model: BertForTokenClassification,
  host: HostBatch,
  execution: StepExecution,
  sink: GradientSink,
  options: Omit<MicroBatchOptions, 'into'> = {},
): StepOutput {
  const size = Math.max(1, Math.min(execution.microBatchSize, host.batchSize));
  const normalizer = options.lossNormalizer ?? Math.max(1, host.labelledCount);
  const { rng, onSlice, maxSlices, ...modelOptions } = options;
  let loss = 0;
  // Argmax ids laid out over the whole batch's padded length (slices are trimmed).
  const predictions = options.withPredictions
    ? new Int32Array(host.batchSize * host.seqLen)
    : undefined;
  const groups = sliceRows(host, size, execution.lengthGrouping);
  const slices = Math.min(groups.length, maxSlices ?? groups.length);
  for (let index = 0; index < slices; index++) {
    const rows = groups[index]!;
    const slice =
      rows.length === host.batchSize && isIdentity(rows) ? host : selectHostRows(host, rows);
    const tensors = batchTensors(slice);
    try {
      const sliceOptions = { ...modelOptions, lossNormalizer: normalizer };
      const result = execution.recompute
        ? accumulateGradientsWithRecompute(model, tensors, sink, { ...sliceOptions, rng })
        : model.accumulateGradients(tensors, sink, sliceOptions);
      loss += result.loss;
      if (predictions && result.predictions)
        rows.forEach((row, r) =>
          predictions.set(
            result.predictions!.subarray(r * slice.seqLen, (r + 1) * slice.seqLen),
            row * host.seqLen,
          ),
        );
    } finally {
      disposeBatch(tensors);
    }
    onSlice?.(index + 1, groups.length);
  }
  return predictions ? { loss, predictions } : { loss };
}

/** The rows of each slice: length-grouped when a cost model is given, else consecutive runs. */
function sliceRows(host: HostBatch, size: number, grouping?: SliceCostModel): number[][] {
  if (grouping) return lengthGroups(rowLengths(host), size, grouping);
  const groups: number[][] = [];
  for (let start = 0; start < host.batchSize; start += size)
    groups.push(
      Array.from({ length: Math.min(size, host.batchSize - start) }, (_, i) => start + i),
    );
  return groups;
}

function isIdentity(rows: readonly number[]): boolean {
  return rows.every((row, i) => row === i);
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
  lengthGrouping?: SliceCostModel,
): BatchPredictions {
  const predictions = new Int32Array(host.batchSize * host.seqLen);
  let lossSum = 0;
  const size = Math.max(1, Math.min(microBatchSize, host.batchSize));
  for (const rows of sliceRows(host, size, lengthGrouping)) {
    const slice = selectHostRows(host, rows);
    const { inputIds, attentionMask, labels } = batchTensors(slice);
    try {
      const { logits } = model.forward(inputIds, attentionMask);
      try {
        const loss = model.loss(logits, labels, 1);
        lossSum += loss.dataSync()[0]!;
        loss.dispose();
        const ids = tf.argMax(logits, -1);
        const sliceIds = ids.dataSync() as Int32Array;
        ids.dispose();
        rows.forEach((row, r) =>
          predictions.set(
            sliceIds.subarray(r * slice.seqLen, (r + 1) * slice.seqLen),
            row * host.seqLen,
          ),
        );
      } finally {
        logits.dispose();
      }
    } finally {
      disposeBatch({ inputIds, attentionMask, labels });
    }
  }
  return { predictions, lossSum };
}
