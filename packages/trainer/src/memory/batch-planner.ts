/**
 * The memory plans of one run: made up front for the longest batch of each data set (logged,
 * and a `MemoryPlanError` before the first step when even that cannot fit), then looked up per
 * batch. Batches are padded to their own longest sentence, so most are far shorter than the
 * longest; planning each length separately lets them run whole instead of in the slices the
 * longest one needs. Plans are pure functions of the shape, so a resumed run slices exactly as
 * the interrupted one did.
 */
import type { BertConfig } from '../model/config.js';
import type { MemoryMode } from './memory-estimate.js';
import { describePlan, planMemory, type MemoryPlan, type MemoryPlanInput } from './memory-plan.js';

/** What stays the same for every batch of a run. */
export interface BatchPlannerSettings {
  config: BertConfig;
  backend: MemoryPlanInput['backend'];
  /** Processes sharing this machine's memory. */
  localWorldSize: number;
  limitBytes?: number;
  microBatchSize?: number;
  recompute?: 'auto' | 'on' | 'off';
}

/** Plans by (mode, batch size, sequence length), computed once each. */
export class BatchPlanner {
  private readonly plans = new Map<string, MemoryPlan>();

  constructor(readonly settings: BatchPlannerSettings) {}

  /** The plan for a padded batch of `batchSize` x `seqLen` (throws MemoryPlanError if none fits). */
  plan(mode: MemoryMode, batchSize: number, seqLen: number): MemoryPlan {
    const key = `${mode}:${batchSize}:${seqLen}`;
    let plan = this.plans.get(key);
    if (!plan) {
      const { config, backend, localWorldSize, limitBytes, microBatchSize, recompute } =
        this.settings;
      plan = planMemory({
        config,
        backend,
        batchSize,
        seqLen,
        mode,
        worldSize: localWorldSize,
        limitBytes,
        // A forced micro-batch size is a training choice; evaluation keeps its own plan.
        microBatchSize: mode === 'train' ? microBatchSize : undefined,
        recompute,
      });
      this.plans.set(key, plan);
    }
    return plan;
  }

  /**
   * Plans the longest batch of each set before anything runs, so a batch that cannot fit stops
   * the run at once with the plan's error rather than mid-epoch; returns the log lines.
   */
  planUpFront(
    sets: ReadonlyArray<{ mode: MemoryMode; batchSize: number; longest: number }>,
  ): string[] {
    return sets
      .filter((set) => set.longest > 0)
      .map((set) => describePlan(this.plan(set.mode, set.batchSize, set.longest)));
  }
}

/** Length of the longest encoded sentence (what the largest padded batch is padded to). */
export function longestSequence(encoded: ReadonlyArray<{ inputIds: ArrayLike<number> }>): number {
  let longest = 0;
  for (const e of encoded) longest = Math.max(longest, e.inputIds.length);
  return longest;
}
