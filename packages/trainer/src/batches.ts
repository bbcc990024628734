/**
 * Encoded sentences → padded batches (HF's DataCollatorForTokenClassification: pad to the
 * longest sentence of the batch, attention mask 0 and label -100 on padding), as host arrays
 * and as the int32 tfjs tensors the model takes.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { LabelledBatch } from './model/token-classification.js';
import { IGNORE_LABEL } from './tokenizer/label-alignment.js';
import type { EncodedSentence } from './tokenizer/sentence-encoder.js';

/** A padded batch in host memory, row-major [batchSize, seqLen]. */
export interface HostBatch {
  batchSize: number;
  seqLen: number;
  inputIds: Int32Array;
  attentionMask: Int32Array;
  labels: Int32Array;
  /** Positions whose label is not -100 (what the loss averages over). */
  labelledCount: number;
}

/** Pads `examples` to their longest length with `padId`. */
export function collate(examples: readonly EncodedSentence[], padId: number): HostBatch {
  const batchSize = examples.length;
  const seqLen = Math.max(1, ...examples.map((e) => e.inputIds.length));
  const inputIds = new Int32Array(batchSize * seqLen).fill(padId);
  const attentionMask = new Int32Array(batchSize * seqLen);
  const labels = new Int32Array(batchSize * seqLen).fill(IGNORE_LABEL);
  let labelledCount = 0;
  examples.forEach((example, row) => {
    const base = row * seqLen;
    example.inputIds.forEach((id, t) => {
      inputIds[base + t] = id;
      attentionMask[base + t] = 1;
      labels[base + t] = example.labels[t];
      if (example.labels[t] !== IGNORE_LABEL) labelledCount++;
    });
  });
  return { batchSize, seqLen, inputIds, attentionMask, labels, labelledCount };
}

/** Labelled positions of the examples (no padding needed to count them). */
export function labelledCount(examples: readonly EncodedSentence[]): number {
  let count = 0;
  for (const e of examples) for (const label of e.labels) if (label !== IGNORE_LABEL) count++;
  return count;
}

/** The batch as int32 tensors; the caller disposes them (see disposeBatch). */
export function batchTensors(batch: HostBatch): LabelledBatch {
  const shape: [number, number] = [batch.batchSize, batch.seqLen];
  return {
    inputIds: tf.tensor2d(batch.inputIds, shape, 'int32'),
    attentionMask: tf.tensor2d(batch.attentionMask, shape, 'int32'),
    labels: tf.tensor2d(batch.labels, shape, 'int32'),
  };
}

/** Frees a batch's tensors. */
export function disposeBatch(batch: LabelledBatch): void {
  batch.inputIds.dispose();
  batch.attentionMask.dispose();
  batch.labels.dispose();
  batch.tokenTypeIds?.dispose();
}
