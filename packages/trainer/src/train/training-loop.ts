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
import { collate, labelledCount } from '../batches.js';
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

/** The loop's running totals (what a checkpoint keeps besides the epoch's own figures). */
interface LoopState {
  stopping: EarlyStoppingState;
  history: EpochRecord[];
  /** Optimizer steps taken. */
  step: number;
  /** Batches seen (the reference's `timestep`, shown in the log line every 50 batches). */
  timestep: number;
  stoppedEarly: boolean;
  validationCounts: number[];
}

/** The current epoch's figures so far. */
type EpochFigures = LoopProgress['epochSoFar'];

/** One batch of this rank's sampler. */
type Batch = ReturnType<DistributedSampler['batches']>[number];

/** Runs the epochs; every rank calls it. */
export async function trainLoop(ctx: LoopContext): Promise<LoopResult> {
  const samplers = everyRanksSampler(ctx);
  const state = initialState(ctx.resume);
  const { epochs } = ctx.options;
  const firstEpoch = ctx.resume?.finished ? epochs : (ctx.resume?.epoch ?? 0);
  for (let epoch = firstEpoch; epoch < epochs; epoch++) {
    const figures = await runEpoch(ctx, samplers, state, epoch);
    if (await finishEpoch(ctx, state, epoch, figures)) break;
  }
  return {
    history: state.history,
    bestEpoch: state.stopping.bestEpoch,
    stoppedEarly: state.stoppedEarly,
    optimizerSteps: state.step,
    validationCounts: state.validationCounts,
  };
}

/**
 * Every rank's sampler (as accelerator.prepare builds this rank's), so each rank knows the
 * whole global batch of every step.
 */
function everyRanksSampler(ctx: LoopContext): DistributedSampler[] {
  const { accelerator, options } = ctx;
  return Array.from(
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
}

/** The totals a checkpoint left, or those of a fresh start. */
function initialState(resume: LoopProgress | undefined): LoopState {
  return {
    stopping: resume?.stopping ?? initialEarlyStopping(),
    history: resume ? [...resume.history] : [],
    step: resume?.step ?? 0,
    timestep: resume?.timestep ?? 0,
    stoppedEarly: resume?.stoppedEarly ?? false,
    validationCounts: resume ? [...resume.validationCounts] : [],
  };
}

/** The loop's position as a checkpoint keeps it: before batch `batch` of epoch `epoch`. */
function snapshot(
  state: LoopState,
  epoch: number,
  batch: number,
  finished: boolean,
  figures: EpochFigures,
): LoopProgress {
  return {
    epoch,
    batch,
    step: state.step,
    timestep: state.timestep,
    stopping: state.stopping,
    history: [...state.history],
    validationCounts: [...state.validationCounts],
    stoppedEarly: state.stoppedEarly,
    finished,
    epochSoFar: { ...figures },
  };
}

/**
 * Trains one epoch, from its first batch or from where the checkpoint left it: per batch a
 * forward + backward, an optimizer step at each accumulation window's end, the validations
 * due after it, and the checkpoint every `saveSteps` optimizer steps. Returns its figures.
 */
async function runEpoch(
  ctx: LoopContext,
  samplers: readonly DistributedSampler[],
  state: LoopState,
  epoch: number,
): Promise<EpochFigures> {
  const { accelerator, engine, options } = ctx;
  const accumulation = options.gradient_accumulation_steps;
  const batches = samplers[accelerator.rank].batches(epoch);
  // Every rank's batches of this epoch, to count the labelled tokens of each optimizer step.
  const allBatches = samplers.map((s) => s.batches(epoch));
  const validateAfter = new Set(
    validationBatchIndices(batches.length, options.num_validate_during_training),
  );
  const resumed = ctx.resume && epoch === ctx.resume.epoch ? ctx.resume : undefined;
  const partial = resumed?.epochSoFar;
  const figures: EpochFigures = {
    validations: partial ? [...partial.validations] : [],
    stepLosses: partial ? [...partial.stepLosses] : [],
    scored: partial ? [...partial.scored] : [],
    lastLr: partial?.lastLr ?? 0,
  };
  const progress = createProgress({
    label: `Epoch ${epoch + 1}/${options.epochs}`,
    total: batches.length,
    enabled: accelerator.isMainProcess,
  });
  let windowLoss = 0;
  let normalizer = 1;
  for (let i = resumed ? resumed.batch : 0; i < batches.length; i++) {
    if (i % accumulation === 0) {
      normalizer = lossNormalizer(ctx, allBatches, i);
      engine.zeroGradients();
      windowLoss = 0;
    }
    windowLoss += await trainBatch(ctx, batches[i], normalizer, state.step, figures.scored);
    const windowEnds = (i + 1) % accumulation === 0 || i === batches.length - 1;
    const stepped = windowEnds && (await closeWindow(ctx, state, figures, windowLoss));
    if (i % 50 === 0)
      ctx.log.info(
        `Epoch ${epoch} | Batch ${i}/${batches.length} | Timestep ${state.timestep} | LR ${figures.lastLr.toFixed(10)} | Train loss ${windowLoss.toFixed(3)}`,
      );
    state.timestep++;
    progress.update(i + 1, { loss: windowLoss });
    if (validateAfter.has(i)) {
      progress.stop();
      figures.validations.push(await validate(ctx));
    }
    if (stepped) {
      // Mid-epoch checkpoints; the epoch's last batch is covered by the epoch-end one.
      if (i < batches.length - 1) await stepCheckpoint(ctx, state, epoch, i + 1, figures);
      await ctx.afterOptimizerStep?.(state.step);
    }
  }
  progress.stop();
  return figures;
}

/**
 * The loss divisor of the accumulation window starting at batch `first`: the labelled tokens
 * of the whole optimizer step over all ranks, per rank (see the file comment).
 */
function lossNormalizer(
  ctx: LoopContext,
  allBatches: ReadonlyArray<readonly Batch[]>,
  first: number,
): number {
  const batchCount = allBatches[ctx.accelerator.rank].length;
  const end = Math.min(first + ctx.options.gradient_accumulation_steps, batchCount);
  let globalCount = 0;
  for (const rankBatches of allBatches)
    for (let j = first; j < end; j++)
      globalCount += labelledCount(rankBatches[j].indices.map((x) => ctx.train.encoded[x]));
  return Math.max(1, globalCount) / ctx.accelerator.worldSize;
}

/**
 * Forward + backward of one batch, its gradients added to the window's; returns its loss and
 * appends every rank's scored sentences to `scored` (train metrics come from this training
 * forward, dropout on, as the reference's).
 */
async function trainBatch(
  ctx: LoopContext,
  batch: Batch,
  normalizer: number,
  step: number,
  scored: ScoredSentence[],
): Promise<number> {
  const { engine, accelerator } = ctx;
  const trainingSet = ctx.train;
  const examples = batch.indices.map((x) => trainingSet.encoded[x]);
  const host = collate(examples, ctx.padId);
  const plan = ctx.planner?.plan('train', host.batchSize, host.seqLen);
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
  return result.loss;
}

/**
 * The optimizer step that closes an accumulation window, at the schedule's learning rate;
 * records the window's loss. Returns false when fp16 skipped the step, which then moves
 * neither the optimizer nor the schedule (as Accelerate).
 */
async function closeWindow(
  ctx: LoopContext,
  state: LoopState,
  figures: EpochFigures,
  windowLoss: number,
): Promise<boolean> {
  const factor = lrFactorAt(ctx.schedule, state.step);
  const outcome = await optimizerStep(ctx.engine, ctx.accelerator, {
    maxGradNorm: ctx.options.max_grad_norm,
    learningRates: ctx.baseLrs.map((lr) => lr * factor),
    mixedPrecision: ctx.mixedPrecision,
    step: state.step,
  });
  if (outcome.stepped) {
    figures.lastLr = outcome.lr;
    state.step++;
  }
  figures.stepLosses.push(windowLoss);
  ctx.engine.zeroGradients();
  return outcome.stepped;
}

/** A validation pass over the validation set, logged as the reference logs it. */
async function validate(ctx: LoopContext): Promise<ValidationFigures> {
  const result = await evaluate(ctx.engine, ctx.val, {
    accelerator: ctx.accelerator,
    labels: ctx.labels,
    batchSize: ctx.options.batch_size,
    padId: ctx.padId,
    label: 'Validation',
    planner: ctx.planner,
  });
  const scores = seqevalResult(result.gold, result.pred);
  ctx.log.info(
    `Validation loss ${result.loss.toFixed(3)} | Validation precision ${scores.overall_precision.toFixed(3)} | Validation recall ${scores.overall_recall.toFixed(3)} | Validation f1 score ${scores.overall_f1.toFixed(3)} | Validation accuracy ${scores.overall_accuracy.toFixed(3)}`,
  );
  return { loss: result.loss, accuracy: scores.overall_accuracy, f1: scores.overall_f1 };
}

/** The every-`saveSteps` checkpoint, taken before batch `nextBatch` when one is due. */
async function stepCheckpoint(
  ctx: LoopContext,
  state: LoopState,
  epoch: number,
  nextBatch: number,
  figures: EpochFigures,
): Promise<void> {
  if (!ctx.checkpoint || !ctx.saveSteps || state.step % ctx.saveSteps !== 0) return;
  // The checkpoint keeps rank 0's loop state for every rank, but step losses are each rank's
  // share: store their global means (the epoch-end mean over ranks keeps them).
  const global = await ctx.accelerator.group.allReduce(
    Float32Array.from(figures.stepLosses),
    'mean',
  );
  figures.stepLosses.splice(0, figures.stepLosses.length, ...global);
  await ctx.checkpoint(snapshot(state, epoch, nextBatch, false, figures));
}

/**
 * The end of an epoch: its record and log line, early stopping and the best-model save, the
 * metrics files and the epoch checkpoint. Returns true when training stops here.
 */
async function finishEpoch(
  ctx: LoopContext,
  state: LoopState,
  epoch: number,
  figures: EpochFigures,
): Promise<boolean> {
  const { options } = ctx;
  // Each step's loss is this rank's share; the mean over ranks is the global step loss.
  const pooled = await ctx.accelerator.group.allReduce(
    Float32Array.from(figures.stepLosses),
    'mean',
  );
  state.validationCounts.push(figures.validations.length);
  const record = epochRecord(epoch, pooled, figures);
  state.history.push(record);
  ctx.log.info(
    `Epoch ${epoch} | Train loss ${record.train_loss.toFixed(3)} | Train accuracy ${record.train_accuracy.toFixed(3)} | Train f1 score ${record.train_f1.toFixed(3)} | Val loss ${record.val_loss.toFixed(3)} | Val accuracy ${record.val_accuracy.toFixed(3)} | Val f1 score ${record.val_f1.toFixed(3)} | LR ${record.lr.toExponential(3)}`,
  );

  const decision = updateEarlyStopping(state.stopping, epoch + 1, record.val_f1, {
    patience: options.patience,
    validationsPerEpoch: options.num_validate_during_training,
  });
  if (decision.save) {
    const previous = state.stopping.bestF1;
    ctx.log.info(
      `Validation f1 score ${record.val_f1.toFixed(4)} improved from ${Number.isFinite(previous) ? previous.toFixed(4) : 'none'}; saving the model to ${options.save_model_path}`,
    );
    await ctx.saveBest(epoch + 1);
  }
  state.stopping = decision.state;
  await ctx.afterEpoch(state.history, stepRecords(ctx, epoch, pooled, state.step));
  if (decision.stop) state.stoppedEarly = epoch + 1 < options.epochs;
  if (ctx.checkpoint) {
    const finished = decision.stop || epoch + 1 === options.epochs;
    const nextEpoch = { validations: [], stepLosses: [], scored: [], lastLr: 0 };
    await ctx.checkpoint(snapshot(state, epoch + 1, 0, finished, nextEpoch));
  }
  if (decision.stop) ctx.log.info('Training is aborted as validation f1 score has not improved');
  return decision.stop;
}

/** The epoch's history row, from its pooled step losses, train predictions and validations. */
function epochRecord(epoch: number, pooled: Float32Array, figures: EpochFigures): EpochRecord {
  const trainScores = seqevalResult(
    figures.scored.map((s) => s.gold),
    figures.scored.map((s) => s.pred),
  );
  const val = meanValidation(figures.validations);
  return {
    epoch: epoch + 1,
    train_loss: pooled.reduce((a, b) => a + b, 0) / Math.max(1, pooled.length),
    train_accuracy: trainScores.overall_accuracy,
    train_f1: trainScores.overall_f1,
    val_loss: val.loss,
    val_accuracy: val.accuracy,
    val_f1: val.f1,
    lr: figures.lastLr,
  };
}

/** The step log rows of an epoch whose optimizer steps end at `step`; lr from the schedule. */
function stepRecords(
  ctx: LoopContext,
  epoch: number,
  pooled: Float32Array,
  step: number,
): StepRecord[] {
  const firstStep = step - pooled.length + 1;
  return Array.from(pooled, (loss, j) => ({
    step: firstStep + j,
    epoch: epoch + 1,
    loss,
    lr: (ctx.baseLrs[0] ?? 0) * lrFactorAt(ctx.schedule, firstStep + j - 1),
  }));
}
