/**
 * When to validate, when to save and when to stop, as the reference trainer decides them
 * (pure functions; state passed in and out):
 * - k = num_validate_during_training validations per epoch, after batches
 *   floor(n/k), 2·floor(n/k), ... (the reference's `(i + 1) % frac == 0`), at most k of them;
 * - the epoch's validation figures are the mean of its k validations;
 * - save when the epoch's validation F1 beats the best so far; count the epochs without
 *   improvement and stop when the count reaches patience x k (the reference's rule, which
 *   compares a per-epoch counter with patience x k).
 * One deliberate difference: the best starts at -Infinity rather than 0, so an epoch with F1
 * exactly 0 still saves a model and the test phase always has one to load.
 */

/** Early-stopping state carried across epochs (and saved in training checkpoints). */
export interface EarlyStoppingState {
  bestF1: number;
  /** 1-based epoch of the best F1; 0 before any epoch. */
  bestEpoch: number;
  epochsWithoutImprovement: number;
}

/** What the loop does after an epoch. */
export interface EarlyStoppingDecision {
  state: EarlyStoppingState;
  /** The epoch improved: save it as the best model. */
  save: boolean;
  /** Stop training after this epoch. */
  stop: boolean;
}

/** State before the first epoch. */
export function initialEarlyStopping(): EarlyStoppingState {
  return { bestF1: Number.NEGATIVE_INFINITY, bestEpoch: 0, epochsWithoutImprovement: 0 };
}

/** Applies one epoch's (mean) validation F1. `epoch` is 1-based. */
export function updateEarlyStopping(
  state: EarlyStoppingState,
  epoch: number,
  valF1: number,
  rule: { patience: number; validationsPerEpoch: number },
): EarlyStoppingDecision {
  const improved = valF1 > state.bestF1;
  const next: EarlyStoppingState = improved
    ? { bestF1: valF1, bestEpoch: epoch, epochsWithoutImprovement: 0 }
    : { ...state, epochsWithoutImprovement: state.epochsWithoutImprovement + 1 };
  return {
    state: next,
    save: improved,
    stop: next.epochsWithoutImprovement >= rule.patience * rule.validationsPerEpoch,
  };
}

/**
 * 0-based batch indices after which to validate: (i+1) a multiple of floor(n/k), the first k
 * of them. With fewer batches than k, every batch validates (k is capped at n).
 * E.g. n=10, k=3: [2, 5, 8]; n=10, k=4: [1, 3, 5, 7] (the reference would validate a fifth
 * time at 9 and still divide by 4).
 */
export function validationBatchIndices(batchesPerEpoch: number, k: number): number[] {
  const count = Math.min(k, batchesPerEpoch);
  if (count <= 0) return [];
  const every = Math.floor(batchesPerEpoch / count);
  return Array.from({ length: count }, (_, j) => (j + 1) * every - 1);
}

/** Figures of one validation pass. */
export interface ValidationFigures {
  loss: number;
  accuracy: number;
  f1: number;
}

/** The epoch's validation figures: the mean of its validations. */
export function meanValidation(runs: readonly ValidationFigures[]): ValidationFigures {
  if (runs.length === 0) throw new Error('meanValidation: no validation ran this epoch');
  const sum = (pick: (r: ValidationFigures) => number): number =>
    runs.reduce((acc, r) => acc + pick(r), 0) / runs.length;
  return { loss: sum((r) => r.loss), accuracy: sum((r) => r.accuracy), f1: sum((r) => r.f1) };
}
