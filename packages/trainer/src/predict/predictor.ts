/**
 * A trained token-classification model ready to tag words: loads an HF-compatible checkpoint
 * directory (config.json with id2label, weights, tokenizer files) and predicts one tag per word
 * (the argmax at the word's first sub-token, as the reference trainer scores), in
 * length-sorted batches, returning results in input order.
 */
import { UsageError } from '@ner-launch/common';
import * as tf from '@tensorflow/tfjs-core';
import type { BatchPlanner } from '../memory/batch-planner.js';
import { withHeapGuard } from '../memory/heap-guard.js';
import { BertForTokenClassification } from '../model/token-classification.js';
import { CheckpointError } from '../checkpoint-error.js';
import { loadPretrained, type PretrainedCheckpoint } from '../model/weights/checkpoint-dir.js';
import { BertTokenizer } from '../tokenizer/bert-tokenizer.js';
import { lengthBuckets } from './length-buckets.js';
import { wordWindows, type WindowSummary } from './word-windows.js';

/** Options of `Predictor.predict`. */
export interface PredictOptions {
  batchSize: number;
  /** Token limit per window including [CLS] and [SEP]. */
  maxLength: number;
  /** Called after each batch with (batches done, batches in all). */
  onBatch?: (done: number, total: number) => void;
  /** Memory plans per batch shape; undefined runs every batch whole. */
  planner?: BatchPlanner;
}

/** Word tags in input order, and what windowing did. */
export interface PredictResult {
  tags: string[][];
  summary: WindowSummary & { batches: number; paddedTokens: number; realTokens: number };
}

/**
 * Refuses a checkpoint without a trained classifier (e.g. a pretraining checkpoint): its
 * predictions would be noise. Returns the checkpoint.
 */
export function checkTrained(checkpoint: PretrainedCheckpoint): PretrainedCheckpoint {
  if (checkpoint.missingKeys.length > 0)
    throw new CheckpointError(
      checkpoint.weightsFile,
      `is not a trained token-classification model: it lacks ${checkpoint.missingKeys.join(', ')} (train one with \`ner-launch train\`)`,
    );
  return checkpoint;
}

/** Model + tokenizer + label names of one checkpoint. */
export class Predictor {
  private constructor(
    readonly model: BertForTokenClassification,
    readonly tokenizer: BertTokenizer,
    /** Label names by id (config.json's id2label). */
    readonly labels: readonly string[],
    /** The checkpoint directory read. */
    readonly dir: string,
  ) {}

  /**
   * Loads `dir` (a local model directory, or a hub id in the cache); needs an initialised
   * tfjs backend. See `checkTrained` for what is refused.
   */
  static async load(dir: string): Promise<Predictor> {
    return Predictor.fromCheckpoint(checkTrained(await loadPretrained(dir)));
  }

  /** Builds the model of a loaded checkpoint (on the current tfjs backend). */
  static fromCheckpoint(checkpoint: PretrainedCheckpoint): Predictor {
    const tokenizer = BertTokenizer.fromDirectory(checkpoint.tokenizerDir);
    const model = BertForTokenClassification.fromStateDict(
      checkpoint.config,
      checkpoint.stateDict,
      {
        source: checkpoint.weightsFile,
      },
    );
    return new Predictor(model, tokenizer, checkpoint.config.id2label, checkpoint.dir);
  }

  /** The longest window the model's position embeddings allow. */
  get maxPositions(): number {
    return this.model.config.maxPositionEmbeddings;
  }

  /** Tags every word of `sentences`; words that give no token are tagged `O`. */
  predict(sentences: readonly (readonly string[])[], options: PredictOptions): PredictResult {
    if (options.maxLength > this.maxPositions)
      throw new UsageError(
        `max_len ${options.maxLength} exceeds the model's max_position_embeddings ${this.maxPositions} (${this.dir}/config.json)`,
      );
    const { windows, summary } = wordWindows(this.tokenizer, sentences, options.maxLength);
    const tags = sentences.map((words) => new Array<string>(words.length).fill('O'));
    const batches = lengthBuckets(
      windows.map((w) => w.inputIds.length),
      options.batchSize,
    );
    let paddedTokens = 0;
    let realTokens = 0;
    batches.forEach((batch, b) => {
      const seqLen = Math.max(...batch.map((i) => windows[i]!.inputIds.length));
      const ids = new Int32Array(batch.length * seqLen).fill(this.tokenizer.padId);
      const mask = new Int32Array(batch.length * seqLen);
      batch.forEach((w, row) => {
        windows[w]!.inputIds.forEach((id, t) => {
          ids[row * seqLen + t] = id;
          mask[row * seqLen + t] = 1;
        });
        realTokens += windows[w]!.inputIds.length;
      });
      paddedTokens += batch.length * seqLen;
      const plan = options.planner?.plan('eval', batch.length, seqLen);
      const predicted = withHeapGuard(
        { step: `prediction batch ${b + 1}`, batchShape: [batch.length, seqLen], plan },
        () => this.argmaxInSlices(ids, mask, batch.length, seqLen, plan?.microBatchSize),
      );
      batch.forEach((w, row) => {
        const window = windows[w]!;
        let previous: number | null = null;
        window.wordIds.forEach((word, t) => {
          // The first sub-token of each word carries its prediction (wordPredictions' rule).
          if (word !== null && word !== previous)
            tags[window.sentence]![word] = this.labels[predicted[row * seqLen + t]!]!;
          previous = word;
        });
      });
      options.onBatch?.(b + 1, batches.length);
    });
    return { tags, summary: { ...summary, batches: batches.length, paddedTokens, realTokens } };
  }

  /** Argmax ids [rows * seqLen], `rowsAtOnce` rows per forward pass (default all). */
  private argmaxInSlices(
    ids: Int32Array,
    mask: Int32Array,
    rows: number,
    seqLen: number,
    rowsAtOnce = rows,
  ): Int32Array {
    if (rowsAtOnce >= rows) return this.argmax(ids, mask, [rows, seqLen]);
    const out = new Int32Array(rows * seqLen);
    for (let start = 0; start < rows; start += rowsAtOnce) {
      const end = Math.min(rows, start + rowsAtOnce);
      const from = start * seqLen;
      const to = end * seqLen;
      out.set(
        this.argmax(ids.subarray(from, to), mask.subarray(from, to), [end - start, seqLen]),
        from,
      );
    }
    return out;
  }

  private argmax(ids: Int32Array, mask: Int32Array, shape: [number, number]): Int32Array {
    const inputIds = tf.tensor2d(ids, shape, 'int32');
    const attentionMask = tf.tensor2d(mask, shape, 'int32');
    try {
      const { logits } = this.model.forward(inputIds, attentionMask, undefined, {
        training: false,
      });
      const best = tf.argMax(logits, -1);
      logits.dispose();
      try {
        // A copy: some backends hand out their own buffer, reused once the tensor is freed.
        return Int32Array.from(best.dataSync());
      } finally {
        best.dispose();
      }
    } finally {
      inputIds.dispose();
      attentionMask.dispose();
    }
  }

  /** Frees the model's tensors. */
  dispose(): void {
    this.model.dispose();
  }
}
