/**
 * The epoch loop of the reference trainer, data-parallel: per batch forward + backward, every
 * `gradient_accumulation_steps` batches an all-reduce, a global-norm clip, the schedule's
 * learning rate and an AdamW step; k validations per epoch; per-epoch figures, early stopping
 * and the best-model save.
 *
 * Loss normalisation (why the figures do not depend on how a global batch is split): each
 * rank divides its summed token loss by (labelled tokens of the whole optimizer step over
 * all ranks) / world size, so the mean of the ranks' gradients is exactly the gradient of the
 * global batch's mean token loss. Every rank computes that count itself from the shared
 * sampler order, without communication. With one process and no accumulation this is HF's
 * mean loss, i.e. the reference's.
 */
import type { JsonValue, Logger } from '@ner-launch/common';
import { DistributedSampler, type Accelerator } from '@ner-launch/worker';
import type { TrainingEngine } from '../engine/training-engine.js';
import type { BatchPlanner } from '../memory/batch-planner.js';
import { withHeapGuard } from '../memory/heap-guard.js';
import { seqevalResult } from '../metrics/ner-scores.js';
import type { MixedPrecisionPlan } from '../mixed-precision.js';
import type { LossScaler } from '../optim/loss-scaler.js';
import { collate, labelledCount } from './batches.js';
import {
  initialEarlyStopping,
  type EarlyStoppingState,
  meanValidation,
  updateEarlyStopping,
  validationBatchIndices,
  type ValidationFigures,
} from './early-stopping.js';
import { evaluate, type EncodedSet } from './evaluation.js';
import type { EpochRecord } from './history.js';
import { lrFactorAt, type LrSchedule } from './lr-schedule.js';
import { optimizerStep } from './optimizer-step.js';
import type { StepRecord } from './step-log.js';
import { createProgress } from './progress.js';
import type { TrainOptions } from './train-options.js';
import { scoreSentence, type ScoredSentence } from './word-tags.js';

/** Everything the loop works with. */
export interface LoopContext {
  accelerator: Accelerator;
  /** The model, its gradients and its optimizer state. */
  engine: TrainingEngine;
  /** Base learning rate of each optimizer group (the engine's param-group order). */
  baseLrs: number[];
  schedule: LrSchedule;
  options: TrainOptions;
  labels: readonly string[];
  train: EncodedSet;
  val: EncodedSet;
  padId: number;
  log: Logger;
  /** Saves the current model as the best one (called on every rank; rank 0 writes). */
  saveBest: (epoch: number) => Promise<void>;
  /** Called after each epoch with the history so far (rank 0 writes metrics files). */
  afterEpoch: (history: readonly EpochRecord[], steps: readonly StepRecord[]) => Promise<void>;
  /** Where to continue from (a training checkpoint's loop state); undefined: the start. */
  resume?: LoopProgress;
  /**
   * Saves a training checkpoint (every rank calls it): every `saveSteps` optimizer steps
   * (when set) and at every epoch end.
   */
  checkpoint?: (progress: LoopProgress) => Promise<void>;
  saveSteps?: number;
  /** `--mixed_precision`: wire format of the all-reduce and, for fp16, the loss scaler. */
  mixedPrecision?: { plan: MixedPrecisionPlan; scaler: LossScaler };
  /**
   * Memory plans per batch shape (micro-batches, recomputation); undefined runs every batch
   * whole, as a backend without a memory limit would.
   */
  planner?: BatchPlanner;
  /** Test hook, after each optimizer step (and its checkpoint): e.g. throws to interrupt. */
  afterOptimizerStep?: (step: number) => void | Promise<void>;
}

/** A sentence's word tags, gold and predicted (JSON-safe for checkpoints). */
type Scored = ScoredSentence;

/**
 * The loop's position and everything accumulated so far, as a training checkpoint keeps it:
 * the next batch to run is batch `batch` of epoch `epoch` (0-based), after `step` optimizer
 * steps. Checkpoints are taken only at optimizer-step boundaries, so no gradients are pending.
 */
export interface LoopProgress {
  epoch: number;
  batch: number;
  step: number;
  timestep: number;
  stopping: EarlyStoppingState;
  history: EpochRecord[];
  validationCounts: number[];
  stoppedEarly: boolean;
  /** True once the loop has ended (stopped early or ran all epochs). */
  finished: boolean;
  /** The current epoch's partial figures. */
  epochSoFar: {
    validations: ValidationFigures[];
    stepLosses: number[];
    scored: Scored[];
    lastLr: number;
  };
}

/** What training produced. */
export interface LoopResult {
  history: EpochRecord[];
  bestEpoch: number;
  stoppedEarly: boolean;
  optimizerSteps: number;
  /** Validations run in each epoch (k, or fewer when an epoch has fewer batches). */
  validationCounts: number[];
}

/** Runs the epochs; every rank calls it. */
export async function trainLoop(ctx: LoopContext): Promise<LoopResult> {
  const { accelerator, engine, options } = ctx;
  const accumulation = options.gradient_accumulation_steps;
  const k = options.num_validate_during_training;
  // Every rank's sampler (as accelerator.prepare builds this rank's), so each rank knows the
  // whole global batch of every step.
  const samplers = Array.from(
    { length: accelerator.worldSize },
    (_, rank) =>
      new DistributedSampler({
        datasetLength: ctx.train.encoded.length,
        batchSize: options.batch_size,
        shuffle: true,
        seed: accelerator.seed,
        rank,
        worldSize: accelerator.worldSize,
      }),
  );
  const mySampler = samplers[accelerator.rank];
  const resume = ctx.resume;
  let stopping = resume?.stopping ?? initialEarlyStopping();
  const history: EpochRecord[] = resume ? [...resume.history] : [];
  let step = resume?.step ?? 0;
  // Batches seen so far (the reference's `timestep`, shown in the log line every 50 batches).
  let timestep = resume?.timestep ?? 0;
  let stoppedEarly = resume?.stoppedEarly ?? false;
  const validationCounts: number[] = resume ? [...resume.validationCounts] : [];
  const trainingSet = ctx.train;

  const firstEpoch = resume?.finished ? options.epochs : (resume?.epoch ?? 0);
  for (let epoch = firstEpoch; epoch < options.epochs; epoch++) {
    const batches = mySampler.batches(epoch);
    // Every rank's batches of this epoch, to count the labelled tokens of each optimizer step.
    const allBatches = samplers.map((s) => s.batches(epoch));
    const validateAfter = new Set(validationBatchIndices(batches.length, k));
    const partial = resume && epoch === resume.epoch ? resume.epochSoFar : undefined;
    const validations: ValidationFigures[] = partial ? [...partial.validations] : [];
    const stepLosses: number[] = partial ? [...partial.stepLosses] : [];
    const scored: ScoredSentence[] = partial ? [...partial.scored] : [];
    let windowLoss = 0;
    let normalizer = 1;
    let lastLr = partial?.lastLr ?? 0;
    const startBatch = partial ? resume!.batch : 0;
    const progress = createProgress({
      label: `Epoch ${epoch + 1}/${options.epochs}`,
      total: batches.length,
      enabled: accelerator.isMainProcess,
    });
    const progressNow = (batch: number, finished: boolean): LoopProgress => ({
      epoch,
      batch,
      step,
      timestep,
      stopping,
      history: [...history],
      validationCounts: [...validationCounts],
      stoppedEarly,
      finished,
      epochSoFar: { validations, stepLosses, scored, lastLr },
    });

    for (let i = startBatch; i < batches.length; i++) {
      if (i % accumulation === 0) {
        const end = Math.min(i + accumulation, batches.length);
        let globalCount = 0;
        for (const rankBatches of allBatches)
          for (let j = i; j < end; j++)
            globalCount += labelledCount(rankBatches[j].indices.map((x) => trainingSet.encoded[x]));
        normalizer = Math.max(1, globalCount) / accelerator.worldSize;
        engine.zeroGradients();
        windowLoss = 0;
      }
      const batch = batches[i];
      const examples = batch.indices.map((x) => trainingSet.encoded[x]);
      const host = collate(examples, ctx.padId);
      const plan = ctx.planner?.plan('train', host.batchSize, host.seqLen);
      // Train metrics come from this training forward (dropout on), as the reference's.
      const result = withHeapGuard(
        { step: step + 1, batchShape: [host.batchSize, host.seqLen], plan },
        () =>
          engine.accumulate(host, {
            lossNormalizer: normalizer,
            lossScale: engine.scalesLossInBackward ? ctx.mixedPrecision?.scaler.scale : undefined,
            withPredictions: true,
            execution: plan && { microBatchSize: plan.microBatchSize, recompute: plan.recompute },
          }),
      );
      windowLoss += result.loss;
      const predictions = result.predictions!;
      const mine = batch.indices.map((x, row) => {
        const e = trainingSet.encoded[x];
        const start = row * host.seqLen;
        return scoreSentence(
          e.wordIds,
          predictions.subarray(start, start + e.inputIds.length),
          trainingSet.sentences[x].tags,
          ctx.labels,
        );
      });
      scored.push(
        ...((await accelerator.gatherForMetrics(
          mine as unknown as JsonValue[],
          batch,
        )) as unknown as ScoredSentence[]),
      );

      let stepped = false;
      if ((i + 1) % accumulation === 0 || i === batches.length - 1) {
        const factor = lrFactorAt(ctx.schedule, step);
        const outcome = await optimizerStep(engine, accelerator, {
          maxGradNorm: options.max_grad_norm,
          learningRates: ctx.baseLrs.map((lr) => lr * factor),
          mixedPrecision: ctx.mixedPrecision,
          step,
        });
        // A skipped fp16 step moves neither the optimizer nor the schedule (as Accelerate).
        if (outcome.stepped) {
          lastLr = outcome.lr;
          step++;
          stepped = true;
        }
        stepLosses.push(windowLoss);
        engine.zeroGradients();
      }
      if (i % 50 === 0)
        ctx.log.info(
          `Epoch ${epoch} | Batch ${i}/${batches.length} | Timestep ${timestep} | LR ${lastLr.toFixed(10)} | Train loss ${windowLoss.toFixed(3)}`,
        );
      timestep++;
      progress.update(i + 1, { loss: windowLoss });

      if (validateAfter.has(i)) {
        progress.stop();
        const result = await evaluate(engine, ctx.val, {
          accelerator,
          labels: ctx.labels,
          batchSize: options.batch_size,
          padId: ctx.padId,
          label: 'Validation',
          planner: ctx.planner,
        });
        const scores = seqevalResult(result.gold, result.pred);
        validations.push({
          loss: result.loss,
          accuracy: scores.overall_accuracy,
          f1: scores.overall_f1,
        });
        ctx.log.info(
          `Validation loss ${result.loss.toFixed(3)} | Validation precision ${scores.overall_precision.toFixed(3)} | Validation recall ${scores.overall_recall.toFixed(3)} | Validation f1 score ${scores.overall_f1.toFixed(3)} | Validation accuracy ${scores.overall_accuracy.toFixed(3)}`,
        );
      }
      if (stepped) {
        // Mid-epoch checkpoints; the epoch's last batch is covered by the epoch-end one.
        if (
          ctx.checkpoint &&
          ctx.saveSteps &&
          step % ctx.saveSteps === 0 &&
          i < batches.length - 1
        ) {
          // The checkpoint keeps rank 0's loop state for every rank, but step losses are each
          // rank's share: store their global means (the epoch-end mean over ranks keeps them).
          const global = await accelerator.group.allReduce(Float32Array.from(stepLosses), 'mean');
          stepLosses.splice(0, stepLosses.length, ...global);
          await ctx.checkpoint(progressNow(i + 1, false));
        }
        await ctx.afterOptimizerStep?.(step);
      }
    }
    progress.stop();

    // Each step's loss is this rank's share; the mean over ranks is the global step loss.
    const pooled = await accelerator.group.allReduce(Float32Array.from(stepLosses), 'mean');
    const trainLoss = pooled.reduce((a, b) => a + b, 0) / Math.max(1, pooled.length);
    const trainScores = seqevalResult(
      scored.map((s) => s.gold),
      scored.map((s) => s.pred),
    );
    validationCounts.push(validations.length);
    const val = meanValidation(validations);
    const record: EpochRecord = {
      epoch: epoch + 1,
      train_loss: trainLoss,
      train_accuracy: trainScores.overall_accuracy,
      train_f1: trainScores.overall_f1,
      val_loss: val.loss,
      val_accuracy: val.accuracy,
      val_f1: val.f1,
      lr: lastLr,
    };
    history.push(record);
    ctx.log.info(
      `Epoch ${epoch} | Train loss ${trainLoss.toFixed(3)} | Train accuracy ${record.train_accuracy.toFixed(3)} | Train f1 score ${record.train_f1.toFixed(3)} | Val loss ${val.loss.toFixed(3)} | Val accuracy ${val.accuracy.toFixed(3)} | Val f1 score ${val.f1.toFixed(3)} | LR ${lastLr.toExponential(3)}`,
    );

    const decision = updateEarlyStopping(stopping, epoch + 1, val.f1, {
      patience: options.patience,
      validationsPerEpoch: k,
    });
    if (decision.save) {
      ctx.log.info(
        `Validation f1 score ${val.f1.toFixed(4)} improved from ${Number.isFinite(stopping.bestF1) ? stopping.bestF1.toFixed(4) : 'none'}; saving the model to ${options.save_model_path}`,
      );
      await ctx.saveBest(epoch + 1);
    }
    stopping = decision.state;
    // This epoch's optimizer steps end at `step`; their lr follows from the schedule.
    const firstStep = step - pooled.length + 1;
    const stepRecords: StepRecord[] = Array.from(pooled, (loss, j) => ({
      step: firstStep + j,
      epoch: epoch + 1,
      loss,
      lr: (ctx.baseLrs[0] ?? 0) * lrFactorAt(ctx.schedule, firstStep + j - 1),
    }));
    await ctx.afterEpoch(history, stepRecords);
    if (decision.stop) stoppedEarly = epoch + 1 < options.epochs;
    if (ctx.checkpoint) {
      const end = progressNow(0, decision.stop || epoch + 1 === options.epochs);
      await ctx.checkpoint({
        ...end,
        epoch: epoch + 1,
        epochSoFar: { validations: [], stepLosses: [], scored: [], lastLr: 0 },
      });
    }
    if (decision.stop) {
      ctx.log.info('Training is aborted as validation f1 score has not improved');
      break;
    }
  }
  return {
    history,
    bestEpoch: stopping.bestEpoch,
    stoppedEarly,
    optimizerSteps: step,
    validationCounts,
  };
}
