/**
 * One pass over a validation or test set in eval mode (no dropout), sharded over the ranks:
 * the loss as the reference reports it (the mean over batches of each batch's mean token
 * loss, with every rank's share of a global batch pooled) and the word tags of every
 * sentence, gathered from all ranks in dataset order, each sentence once (padding dropped).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Accelerator, JsonValue } from '@ner-launch/worker';
import type { BertForTokenClassification } from '../model/token-classification.js';
import type { Sentence } from '../data/sentence.js';
import type { EncodedSentence } from '../tokenizer/sentence-encoder.js';
import { batchTensors, collate, disposeBatch } from './batches.js';
import { createProgress } from './progress.js';
import { scoreSentence, type ScoredSentence } from './word-tags.js';

/** Encoded sentences with the originals they came from (same order). */
export interface EncodedSet {
  sentences: readonly Sentence[];
  encoded: readonly EncodedSentence[];
}

/** What an evaluation pass yields. */
export interface EvaluationResult {
  loss: number;
  gold: string[][];
  pred: string[][];
}

/** Argmax over the last axis of [B, T, L] logits, as host int32 [B*T]. */
export function argmaxHost(logits: tf.Tensor): Int32Array {
  const ids = tf.argMax(logits, -1);
  try {
    return ids.dataSync() as Int32Array;
  } finally {
    ids.dispose();
  }
}

/** Evaluates `model` on `set`; every rank must call it (it gathers). */
export async function evaluate(
  model: BertForTokenClassification,
  set: EncodedSet,
  context: {
    accelerator: Accelerator;
    labels: readonly string[];
    batchSize: number;
    padId: number;
    label: string;
  },
): Promise<EvaluationResult> {
  const { accelerator } = context;
  const sampler = accelerator.prepare({
    datasetLength: set.encoded.length,
    batchSize: context.batchSize,
    shuffle: false,
  });
  const batches = sampler.batches(0);
  // Per batch: this rank's summed token loss and labelled count, pooled over ranks at the end.
  const sums = new Float32Array(2 * batches.length);
  const scored: ScoredSentence[] = [];
  const progress = createProgress({
    label: context.label,
    total: batches.length,
    enabled: accelerator.isMainProcess,
  });
  for (let b = 0; b < batches.length; b++) {
    const batch = batches[b];
    const real = batch.indices.slice(0, batch.realCount);
    const mine: ScoredSentence[] = [];
    if (real.length > 0) {
      const host = collate(
        real.map((i) => set.encoded[i]),
        context.padId,
      );
      const tensors = batchTensors(host);
      try {
        const { logits } = model.forward(tensors.inputIds, tensors.attentionMask, undefined, {
          training: false,
        });
        try {
          const lossSum = model.loss(logits, tensors.labels, 1);
          sums[2 * b] = lossSum.dataSync()[0];
          lossSum.dispose();
          sums[2 * b + 1] = host.labelledCount;
          const predictions = argmaxHost(logits);
          real.forEach((index, row) => {
            const start = row * host.seqLen;
            const e = set.encoded[index];
            mine.push(
              scoreSentence(
                e.wordIds,
                predictions.subarray(start, start + e.inputIds.length),
                set.sentences[index].tags,
                context.labels,
              ),
            );
          });
        } finally {
          logits.dispose();
        }
      } finally {
        disposeBatch(tensors);
      }
    }
    // gatherForMetrics wants one item per sample of the batch; padding ones are dropped.
    const items = batch.indices.map((_, k) => (k < mine.length ? mine[k] : { gold: [], pred: [] }));
    scored.push(
      ...((await accelerator.gatherForMetrics(
        items as unknown as JsonValue[],
        batch,
      )) as unknown as ScoredSentence[]),
    );
    progress.update(b + 1);
  }
  progress.stop();
  const pooled = await accelerator.group.allReduce(sums, 'sum');
  let lossTotal = 0;
  let counted = 0;
  for (let b = 0; b < batches.length; b++) {
    if (pooled[2 * b + 1] > 0) {
      lossTotal += pooled[2 * b] / pooled[2 * b + 1];
      counted++;
    }
  }
  return {
    loss: counted > 0 ? lossTotal / counted : 0,
    gold: scored.map((s) => s.gold),
    pred: scored.map((s) => s.pred),
  };
}
