/**
 * Learning-rate schedules as pure functions of the optimizer step, mirroring the reference
 * trainer: `linear` is HF Transformers' `get_linear_schedule_with_warmup` stepped after every
 * optimizer step; `exponential` is torch's `ExponentialLR` stepped after every epoch; `none`
 * keeps the base rate. Each param group's rate is its base rate times the factor (as torch's
 * LambdaLR), so double_lr's lr/10 group decays in step with the classifier's.
 */
import type { SchedulerKind } from './train-options.js';

/** Everything a schedule needs; `stepsPerEpoch` counts optimizer steps, not batches. */
export interface LrSchedule {
  kind: SchedulerKind;
  warmupSteps: number;
  /** epochs x stepsPerEpoch: the linear schedule reaches 0 there. */
  totalSteps: number;
  stepsPerEpoch: number;
  gamma: number;
}

/**
 * HF's linear warmup/decay factor for the step about to be taken (0-based):
 * step/warmup while warming up, then (total - step)/(total - warmup), never below 0.
 * E.g. warmup 2, total 10: steps 0..3 give 0, 0.5, 1, 0.875.
 */
export function linearWarmupDecayFactor(
  step: number,
  warmupSteps: number,
  totalSteps: number,
): number {
  if (step < warmupSteps) return step / Math.max(1, warmupSteps);
  return Math.max(0, (totalSteps - step) / Math.max(1, totalSteps - warmupSteps));
}

/** ExponentialLR's factor after `completedEpochs` epochs: gamma^completedEpochs. */
export function exponentialFactor(completedEpochs: number, gamma: number): number {
  return gamma ** completedEpochs;
}

/** The multiplier of every group's base rate at optimizer step `step` (0-based, global). */
export function lrFactorAt(schedule: LrSchedule, step: number): number {
  switch (schedule.kind) {
    case 'linear':
      return linearWarmupDecayFactor(step, schedule.warmupSteps, schedule.totalSteps);
    case 'exponential':
      return exponentialFactor(
        Math.floor(step / Math.max(1, schedule.stepsPerEpoch)),
        schedule.gamma,
      );
    case 'none':
      return 1;
  }
}

/** The learning rate at `step` for a group whose base rate is `baseLr`. */
export function learningRateAt(schedule: LrSchedule, baseLr: number, step: number): number {
  return baseLr * lrFactorAt(schedule, step);
}

/**
 * Optimizer steps in one epoch: batches per process divided by gradient accumulation,
 * rounded up (a last partial accumulation still steps, as Accelerate does at epoch end).
 */
export function optimizerStepsPerEpoch(batchesPerEpoch: number, accumulation: number): number {
  return Math.ceil(batchesPerEpoch / accumulation);
}

/** Default warmup of the reference: round(steps per epoch / 5) (Python's round, half to even). */
export function defaultWarmupSteps(stepsPerEpoch: number): number {
  return roundHalfEven(stepsPerEpoch / 5);
}

function roundHalfEven(x: number): number {
  const floor = Math.floor(x);
  const diff = x - floor;
  if (diff > 0.5) return floor + 1;
  if (diff < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

/** Builds the schedule from the resolved flags and the epoch size. */
export function buildLrSchedule(options: {
  scheduler: SchedulerKind;
  epochs: number;
  gamma: number;
  warmup_steps?: number;
  stepsPerEpoch: number;
}): LrSchedule {
  return {
    kind: options.scheduler,
    stepsPerEpoch: options.stepsPerEpoch,
    totalSteps: options.epochs * options.stepsPerEpoch,
    warmupSteps: options.warmup_steps ?? defaultWarmupSteps(options.stepsPerEpoch),
    gamma: options.gamma,
  };
}
