/**
 * One pass over a validation or test set in eval mode (no dropout), sharded over the ranks:
 * the loss as the reference reports it (the mean over batches of each batch's mean token
 * loss, with every rank's share of a global batch pooled) and the word tags of every
 * sentence, gathered from all ranks in dataset order, each sentence once (padding dropped).
 */
import type { JsonValue } from '@ner-launch/common';
import type { Accelerator } from '@ner-launch/worker';
import type { BertForTokenClassification } from '../model/token-classification.js';
import type { Sentence } from '../data/sentence.js';
import type { EncodedSentence } from '../tokenizer/sentence-encoder.js';
import type { BatchPlanner } from '../memory/batch-planner.js';
import { withHeapGuard } from '../memory/heap-guard.js';
import { lengthGroupingFor } from '../memory/length-groups.js';
import { evaluateInMicroBatches, type BatchPredictions } from '../memory/micro-batches.js';
import { collate, type HostBatch } from '../batches.js';
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

/** What evaluation runs batches through: a training engine, or a loaded model (modelEvaluator). */
export interface BatchEvaluator {
  /** Eval-mode argmax and summed token loss of a padded batch, `microBatchSize` rows at a time. */
  evaluate(batch: HostBatch, microBatchSize: number): BatchPredictions;
}

/** A loaded tfjs model as a BatchEvaluator. */
export function modelEvaluator(model: BertForTokenClassification): BatchEvaluator {
  return {
    evaluate: (batch, microBatchSize) =>
      evaluateInMicroBatches(model, batch, microBatchSize, lengthGroupingFor(model.config)),
  };
}

/** Evaluates `evaluator`'s model on `set`; every rank must call it (it gathers). */
export async function evaluate(
  evaluator: BatchEvaluator,
  set: EncodedSet,
  context: {
    accelerator: Accelerator;
    labels: readonly string[];
    batchSize: number;
    padId: number;
    label: string;
    /** Memory plans per batch shape; undefined runs every batch whole. */
    planner?: BatchPlanner;
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
      const plan = context.planner?.plan('eval', host.batchSize, host.seqLen);
      const { predictions, lossSum } = withHeapGuard(
        {
          step: `${context.label} batch ${b + 1}`,
          batchShape: [host.batchSize, host.seqLen],
          plan,
        },
        () => evaluator.evaluate(host, plan?.microBatchSize ?? host.batchSize),
      );
      sums[2 * b] = lossSum;
      sums[2 * b + 1] = host.labelledCount;
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
