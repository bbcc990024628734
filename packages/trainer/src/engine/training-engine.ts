/**
 * The seam between the training loop and the code that does the maths. The loop (sampler,
 * accumulation windows, all-reduce, schedule, validation, checkpoints) is the same for every
 * engine; an engine owns the model's parameters, its gradient accumulators and its optimizer
 * state, wherever they live: host arrays and a tfjs heap (wasm), tensors of libtensorflow
 * (tensorflow), or flat device buffers of a CUDA engine. Weights and optimizer state cross the
 * seam as host arrays under HF names, so a checkpoint written by one engine loads in another.
 */
import type { BertConfig } from '../model/config.js';
import type { StepOutput } from '../model/token-classification.js';
import type { StateDict } from '../model/weights/state-dict.js';
import type { BatchPredictions } from '../memory/micro-batches.js';
import type { AdamWState } from '../optim/adamw.js';
import type { HostBatch } from '../batches.js';

/** How one training batch is run (from the memory plan). */
export interface BatchExecution {
  /** Sentences per forward + backward. */
  microBatchSize: number;
  /** Recompute each encoder layer in the backward pass instead of keeping its activations. */
  recompute: boolean;
}

/** Options of `accumulate`. */
export interface AccumulateOptions {
  /** The summed token loss is divided by this (labelled tokens of the step, see training-loop.ts). */
  lossNormalizer: number;
  /** fp16 loss scaling: gradients come out multiplied by it (the returned loss does not). */
  lossScale?: number;
  /** Dropout on (default true; off for parity checks against a reference). */
  training?: boolean;
  /** Also return the argmax of the forward's logits. */
  withPredictions?: boolean;
  /** Slicing and recomputation; default: the whole batch at once. */
  execution?: BatchExecution;
}

/** An engine's dropout-stream position, as JSON (saved per rank in checkpoints). */
export type DropoutState = Record<string, number | null>;

/** Gradients as host arrays by HF parameter name. */
export type HostGradients = Map<string, Float32Array>;

/** A model being trained, with its gradient accumulators and AdamW state. */
export interface TrainingEngine {
  /** Where the maths runs, for logs and reports (e.g. `wasm`, `tensorflow`). */
  readonly backend: string;
  readonly config: BertConfig;
  /**
   * True where the math itself is fp16, so fp16 loss scaling must multiply the loss before the
   * backward pass (`accumulate`'s lossScale); float32 engines have the gradients scaled after it.
   */
  readonly scalesLossInBackward?: boolean;
  /** Every parameter's HF name, in state-dict order. */
  parameterNames(): string[];
  parameterShape(name: string): number[];
  /** Parameters that receive gradients and updates. */
  trainableNames(): string[];
  /** Forward + backward of one padded batch; gradients are added to the accumulators. */
  accumulate(batch: HostBatch, options: AccumulateOptions): StepOutput;
  /**
   * Hands the accumulated gradients to `reduce` as host arrays (all-reduce, loss-scale checks)
   * and takes back what it returns. Engines that keep gradients on a device copy them out and in.
   */
  exchangeGradients(reduce: (gradients: HostGradients) => Promise<HostGradients>): Promise<void>;
  /** torch's clip_grad_norm_ over the accumulated gradients; returns the norm before clipping. */
  clipGradNorm(maxNorm: number): number;
  /** One AdamW step with the accumulated gradients, each param group at its learning rate. */
  optimizerStep(learningRates: readonly number[]): void;
  /** Drops the accumulated gradients (the start of the next accumulation window). */
  zeroGradients(): void;
  /** Eval-mode argmax and summed token loss of a padded batch, `microBatchSize` rows at a time. */
  evaluate(batch: HostBatch, microBatchSize: number): BatchPredictions;
  /** Host copies of every parameter (HF names). */
  toStateDict(): StateDict;
  /** Overwrites parameters from host tensors (resume). */
  loadParameters(stateDict: StateDict): void;
  /** Host copies of the AdamW state of every stepped parameter. */
  optimizerState(): Map<string, AdamWState>;
  loadOptimizerState(states: ReadonlyMap<string, AdamWState>): void;
  /** Position of the dropout stream (checkpoints), and continuing from one. */
  dropoutState(): DropoutState;
  setDropoutState(state: DropoutState): void;
  setDropoutSeed(seed: number): void;
  dispose(): void;
}
