/** A batch as the trainer hands it over, and its checks (one-line errors naming the position). */
import type { CudaBertDims } from './dims.js';

/** Row-major [batchSize, seqLen] int32 arrays; labels -100 are ignored. */
export interface HostBatch {
  batchSize: number;
  seqLen: number;
  inputIds: Int32Array;
  attentionMask: Int32Array;
  labels: Int32Array;
}

/** Throws naming the first bad value: a length, an id outside the vocabulary, a label outside 0..L-1. */
export function checkBatch(dims: CudaBertDims, batch: HostBatch): void {
  const { batchSize: b, seqLen: t } = batch;
  if (!Number.isInteger(b) || !Number.isInteger(t) || b < 1 || t < 1)
    throw new Error(`batch shape [${b}, ${t}] is not a positive integer shape`);
  if (t > dims.maxPositions)
    throw new Error(`sequence length ${t} exceeds max_position_embeddings ${dims.maxPositions}`);
  for (const [name, array] of [
    ['input_ids', batch.inputIds],
    ['attention_mask', batch.attentionMask],
    ['labels', batch.labels],
  ] as const)
    if (array.length !== b * t)
      throw new Error(`${name} has ${array.length} values for batch [${b}, ${t}]`);
  const at = (i: number) => `[${Math.floor(i / t)}][${i % t}]`;
  for (let i = 0; i < b * t; i++) {
    const id = batch.inputIds[i]!;
    if (id < 0 || id >= dims.vocabSize)
      throw new Error(
        `input_ids${at(i)} = ${id} is outside 0..${dims.vocabSize - 1} (vocab_size ${dims.vocabSize})`,
      );
    const label = batch.labels[i]!;
    if (label !== -100 && (label < 0 || label >= dims.numLabels))
      throw new Error(
        `labels${at(i)} = ${label} is neither -100 nor a label id in 0..${dims.numLabels - 1}`,
      );
  }
  for (let row = 0; row < b; row++) {
    let any = false;
    for (let j = 0; j < t; j++) any ||= batch.attentionMask[row * t + j] !== 0;
    // A row without any attended key would make softmax divide 0 by 0.
    if (!any) throw new Error(`attention_mask row ${row} is all zeros`);
  }
}

/** Labelled positions (label != -100), the default loss normaliser. */
export function labelledCount(batch: HostBatch): number {
  let count = 0;
  for (const label of batch.labels) if (label !== -100) count++;
  return count;
}
