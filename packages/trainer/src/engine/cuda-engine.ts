/**
 * `--backend cuda`: the training engine of @ner-launch/cuda (flat device buffers, CUDA C kernels
 * compiled by NVRTC, cuBLASLt GEMMs) behind the trainer's engine seam. The model is assembled
 * on the host as for every backend (loaded or randomly initialised under HF names), handed to
 * the GPU once, and comes back as host tensors for checkpoints and the best model, so runs can
 * move between engines. Gradients cross processes through the host ring all-reduce.
 */
import { OperationalError } from '@ner-launch/common';
import type { CudaBertEngine, Precision } from '@ner-launch/cuda';
import type { BertConfig } from '../model/config.js';
import type { StepOutput } from '../model/token-classification.js';
import type { StateDict } from '../model/weights/state-dict.js';
import type { BatchPredictions } from '../memory/micro-batches.js';
import type { AdamWGroup, AdamWState } from '../optim/adamw.js';
import type { HostBatch } from '../batches.js';
import type {
  AccumulateOptions,
  DropoutState,
  HostGradients,
  TrainingEngine,
} from './training-engine.js';

/** What `--backend cuda` was asked for. */
export interface CudaEngineOptions {
  /** `--cuda_home`: where CUDA's libraries are (default: CUDA_HOME, the system, Python wheels). */
  cudaHome?: string;
  /** `--mixed_precision` and `--tf32` together: fp32 (TF32 off), tf32, bf16 or fp16 math. */
  precision: Precision;
  seed: number;
}

/** One line naming what is missing, or undefined when the engine can run here. */
export async function cudaUnavailable(cudaHome?: string): Promise<string | undefined> {
  const { cudaAvailability } = await import('@ner-launch/cuda');
  return cudaAvailability({ cudaHome }).unavailable;
}

/** The cuda engine for `config` with the host weights `stateDict` (complete, HF names). */
export async function createCudaEngine(
  config: BertConfig,
  stateDict: StateDict,
  trainable: readonly string[],
  groups: readonly AdamWGroup[],
  options: CudaEngineOptions,
): Promise<CudaEngine> {
  const { CudaBertEngine, cudaAvailability } = await import('@ner-launch/cuda');
  const availability = cudaAvailability({ cudaHome: options.cudaHome });
  if (availability.unavailable) throw new OperationalError(availability.unavailable);
  const engine = CudaBertEngine.create({
    dims: {
      vocabSize: config.vocabSize,
      hiddenSize: config.hiddenSize,
      numLayers: config.numHiddenLayers,
      numHeads: config.numAttentionHeads,
      intermediateSize: config.intermediateSize,
      maxPositions: config.maxPositionEmbeddings,
      typeVocabSize: config.typeVocabSize,
      numLabels: config.id2label.length,
      layerNormEps: config.layerNormEps,
      hiddenAct: config.hiddenAct,
      hiddenDropout: config.hiddenDropoutProb,
      attentionDropout: config.attentionProbsDropoutProb,
      classifierDropout: config.classifierDropout,
    },
    weights: stateDict,
    precision: options.precision,
    seed: options.seed,
    paramGroups: groups.map((g) => ({ params: g.params, weightDecay: g.weightDecay })),
    discovery: availability.discovery,
  });
  const shapes = new Map([...stateDict].map(([name, t]) => [name, [...t.shape]]));
  return new CudaEngine(engine, config, shapes, trainable, groups.length, options.precision);
}

/** CudaBertEngine as a TrainingEngine. */
export class CudaEngine implements TrainingEngine {
  readonly backend = 'cuda';
  readonly scalesLossInBackward: boolean;

  constructor(
    private readonly cuda: CudaBertEngine,
    readonly config: BertConfig,
    private readonly shapes: ReadonlyMap<string, number[]>,
    private readonly trainable: readonly string[],
    private readonly groupCount: number,
    precision: Precision,
  ) {
    this.scalesLossInBackward = precision === 'fp16';
  }

  parameterNames(): string[] {
    return [...this.shapes.keys()];
  }

  parameterShape(name: string): number[] {
    const shape = this.shapes.get(name);
    if (!shape) throw new Error(`model parameter ${name} does not exist`);
    return [...shape];
  }

  trainableNames(): string[] {
    return [...this.trainable];
  }

  accumulate(batch: HostBatch, options: AccumulateOptions): StepOutput {
    // The whole batch at once: a GPU step is sized by device memory, not by the tfjs heap plan.
    return this.cuda.accumulateGradients(batch, {
      lossNormalizer: options.lossNormalizer,
      lossScale: options.lossScale,
      training: options.training ?? true,
      withPredictions: options.withPredictions,
    });
  }

  async exchangeGradients(
    reduce: (gradients: HostGradients) => Promise<HostGradients>,
  ): Promise<void> {
    this.cuda.writeGradients(await reduce(this.cuda.readGradients()));
  }

  clipGradNorm(maxNorm: number): number {
    return this.cuda.clipGradNorm(maxNorm);
  }

  optimizerStep(learningRates: readonly number[]): void {
    if (learningRates.length !== this.groupCount)
      throw new Error(`${learningRates.length} learning rates for ${this.groupCount} param groups`);
    this.cuda.adamwStep([...learningRates], [0.9, 0.999], 1e-8);
  }

  zeroGradients(): void {
    this.cuda.zeroGradients();
  }

  evaluate(batch: HostBatch): BatchPredictions {
    return this.cuda.evaluate(batch);
  }

  toStateDict(): StateDict {
    return this.cuda.stateDict();
  }

  loadParameters(stateDict: StateDict): void {
    this.cuda.loadWeights(stateDict);
  }

  optimizerState(): Map<string, AdamWState> {
    return this.cuda.optimizerState();
  }

  loadOptimizerState(states: ReadonlyMap<string, AdamWState>): void {
    this.cuda.loadOptimizerState(states);
  }

  dropoutState(): DropoutState {
    return this.cuda.dropoutState();
  }

  setDropoutState(state: DropoutState): void {
    this.cuda.setDropoutState({ seed: state.seed ?? 0, counter: state.counter ?? 0 });
  }

  setDropoutSeed(seed: number): void {
    this.cuda.setDropoutState({ seed, counter: 0 });
  }

  dispose(): void {
    this.cuda.dispose();
  }
}
