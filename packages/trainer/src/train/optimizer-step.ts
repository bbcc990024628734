/**
 * The end of an accumulation window: gradients averaged over the ranks (in the
 * `--mixed_precision` wire format, with fp16 loss scaling and its overflow skip), clipped to
 * `--max_grad_norm`, and one AdamW step at the schedule's learning rate, as Accelerate +
 * torch do after `accelerator.backward`. Every rank runs it with identical gradients.
 */
import type { Accelerator } from '@ner-launch/worker';
import type { TrainingEngine } from '../engine/training-engine.js';
import { WORD_EMBEDDINGS } from '../model/embeddings.js';
import { finishGradients, type MixedPrecisionPlan } from '../mixed-precision.js';
import type { LossScaler } from '../optim/loss-scaler.js';

/** What `optimizerStep` did. */
export interface OptimizerStepResult {
  /** False when fp16 found inf/NaN and skipped the step (optimizer and schedule stay). */
  stepped: boolean;
  /** The learning rate of the first param group (what the logs show). */
  lr: number;
}

/** Reduces, clips and applies the accumulated gradients; `learningRates` per param group. */
export async function optimizerStep(
  engine: TrainingEngine,
  accelerator: Accelerator,
  options: {
    maxGradNorm: number;
    learningRates: readonly number[];
    mixedPrecision?: { plan: MixedPrecisionPlan; scaler: LossScaler };
    /** Optimizer steps taken so far (fp16's skip warning names the step). */
    step: number;
  },
): Promise<OptimizerStepResult> {
  const mixed = options.mixedPrecision;
  const half = mixed !== undefined && mixed.plan.mode !== 'no';
  let skip = false;
  // Alone and in fp32 there is nothing to exchange: the gradients stay where the engine has them.
  if (accelerator.worldSize > 1 || half) {
    // Nonzero only in the rows of the step's token ids: only those rows cross the wire.
    const rowSparse = engine.trainableNames().includes(WORD_EMBEDDINGS)
      ? new Map([[WORD_EMBEDDINGS, engine.parameterShape(WORD_EMBEDDINGS)[1]!]])
      : undefined;
    await engine.exchangeGradients(async (gradients) => {
      if (!half) return accelerator.reduceGradients(gradients, { rowSparse });
      // Half-precision wire; fp16 scales the float32 gradients before it (equal to scaling the
      // loss in float32 math) and unscales after it, so every rank decides the same skip.
      let reduced = gradients;
      const decision = await finishGradients(
        gradients,
        mixed.plan,
        mixed.scaler,
        async (g) => (reduced = await accelerator.reduceGradients(g, { rowSparse })),
        options.step,
        engine.scalesLossInBackward,
      );
      skip = decision.skip;
      return reduced;
    });
  }
  if (skip) return { stepped: false, lr: options.learningRates[0] ?? 0 };
  engine.clipGradNorm(options.maxGradNorm);
  engine.optimizerStep(options.learningRates);
  return { stepped: true, lr: options.learningRates[0] ?? 0 };
}
