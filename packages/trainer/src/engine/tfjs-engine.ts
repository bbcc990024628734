/**
 * The training engine of the tfjs backends (wasm, tensorflow, cpu): BertForTokenClassification
 * in tfjs ops, with gradients and AdamW where the backend's profile puts them. Host-resident
 * (wasm, cpu): gradients are summed into host arrays, AdamW's moments live on the host and
 * parameters are rewritten in place, so the 4 GB heap holds only parameters and activations.
 * Device-resident (tensorflow): gradients, moments and parameters stay tensors and a step reads
 * back only the loss and the predictions, unless gradients must cross processes.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendProfile } from '../backends/profile.js';
import { DeviceGradientSink, HostGradientSink, type GradientSink } from '../model/gradient-sink.js';
import type { BertForTokenClassification, StepOutput } from '../model/token-classification.js';
import type { StateDict } from '../model/weights/state-dict.js';
import { lengthGroupingFor } from '../memory/length-groups.js';
import {
  accumulateStepGradients,
  evaluateInMicroBatches,
  type BatchPredictions,
} from '../memory/micro-batches.js';
import { AdamW, type AdamWGroup, type AdamWState } from '../optim/adamw.js';
import { clipDeviceGradNorm, DeviceAdamW } from '../optim/device-adamw.js';
import { clipGradNorm } from '../optim/grad-clip.js';
import type { HostBatch } from '../batches.js';
import { batchTensors, disposeBatch } from '../batches.js';
import type {
  AccumulateOptions,
  DropoutState,
  HostGradients,
  TrainingEngine,
} from './training-engine.js';

/** A tfjs model trained on the backend `profile` describes. */
export class TfjsEngine implements TrainingEngine {
  private readonly hostOptimizer?: AdamW;
  private readonly deviceOptimizer?: DeviceAdamW;
  private hostSink?: HostGradientSink;
  private readonly deviceSink?: DeviceGradientSink;

  constructor(
    readonly model: BertForTokenClassification,
    readonly profile: BackendProfile,
    groups: AdamWGroup[],
  ) {
    if (profile.deviceResident) {
      this.deviceOptimizer = new DeviceAdamW(groups);
      this.deviceSink = new DeviceGradientSink();
    } else {
      this.hostOptimizer = new AdamW(groups);
    }
  }

  get backend(): string {
    return this.profile.name;
  }

  get config() {
    return this.model.config;
  }

  parameterNames(): string[] {
    return this.model.parameters.names();
  }

  parameterShape(name: string): number[] {
    return this.model.parameters.shape(name);
  }

  trainableNames(): string[] {
    return this.model.trainableNames();
  }

  private sink(): GradientSink {
    if (this.deviceSink) return this.deviceSink;
    this.hostSink ??= new HostGradientSink();
    return this.hostSink;
  }

  accumulate(batch: HostBatch, options: AccumulateOptions): StepOutput {
    const execution = options.execution ?? { microBatchSize: batch.batchSize, recompute: false };
    return accumulateStepGradients(
      this.model,
      batch,
      { ...execution, lengthGrouping: lengthGroupingFor(this.model.config) },
      this.sink(),
      {
        training: options.training ?? true,
        lossNormalizer: options.lossNormalizer,
        lossScale: options.lossScale,
        withPredictions: options.withPredictions,
        // Recomputed layers draw their dropout seeds from the model's checkpointed stream.
        rng: this.model.dropoutGenerator(),
      },
    );
  }

  async exchangeGradients(
    reduce: (gradients: HostGradients) => Promise<HostGradients>,
  ): Promise<void> {
    if (!this.deviceSink) {
      this.hostSink = new HostGradientSink(await reduce(this.hostGradients()));
      return;
    }
    const device = this.deviceSink.gradients;
    const host: HostGradients = new Map();
    for (const [name, grad] of device) {
      const data = grad.dataSync() as Float32Array;
      host.set(name, this.profile.dataSyncCopies ? data : new Float32Array(data));
    }
    const reduced = await reduce(host);
    for (const [name, data] of reduced) {
      const previous = device.get(name);
      if (!previous) throw new Error(`the all-reduce returned a gradient for unknown ${name}`);
      device.set(name, tf.keep(tf.tensor(data, previous.shape, 'float32')));
      previous.dispose();
    }
  }

  private hostGradients(): HostGradients {
    return this.hostSink?.gradients ?? new Map();
  }

  clipGradNorm(maxNorm: number): number {
    if (this.deviceSink) return clipDeviceGradNorm(this.deviceSink.gradients, maxNorm);
    return clipGradNorm(this.hostGradients().values(), maxNorm);
  }

  optimizerStep(learningRates: readonly number[]): void {
    const optimizer = this.deviceOptimizer ?? this.hostOptimizer!;
    optimizer.groups.forEach((group, g) => (group.lr = learningRates[g] ?? group.lr));
    if (this.deviceOptimizer)
      this.deviceOptimizer.step(this.deviceSink!.gradients, this.model.parameters);
    else this.hostOptimizer!.step(this.hostGradients(), this.model.parameters);
  }

  zeroGradients(): void {
    this.deviceSink?.clear();
    this.hostSink = undefined;
  }

  evaluate(batch: HostBatch, microBatchSize: number): BatchPredictions {
    return evaluateInMicroBatches(
      this.model,
      batch,
      microBatchSize,
      lengthGroupingFor(this.model.config),
    );
  }

  /** Eval-mode logits of a whole batch [B, T, labels] (tests and benchmarks). */
  logits(batch: HostBatch): Float32Array {
    const tensors = batchTensors(batch);
    try {
      const { logits } = this.model.forward(tensors.inputIds, tensors.attentionMask);
      const values = logits.dataSync() as Float32Array;
      logits.dispose();
      return values;
    } finally {
      disposeBatch(tensors);
    }
  }

  toStateDict(): StateDict {
    return this.model.toStateDict();
  }

  loadParameters(stateDict: StateDict): void {
    for (const [name, tensor] of stateDict) this.model.parameters.set(name, tensor);
  }

  optimizerState(): Map<string, AdamWState> {
    const optimizer = this.deviceOptimizer ?? this.hostOptimizer!;
    const states = new Map<string, AdamWState>();
    for (const group of optimizer.groups)
      for (const name of group.params) {
        const state = optimizer.stateOf(name);
        if (state) states.set(name, state);
      }
    return states;
  }

  loadOptimizerState(states: ReadonlyMap<string, AdamWState>): void {
    for (const [name, state] of states) {
      if (this.deviceOptimizer)
        this.deviceOptimizer.setState(name, state, this.parameterShape(name));
      else this.hostOptimizer!.setState(name, state);
    }
  }

  dropoutState(): DropoutState {
    const { state, spare } = this.model.dropoutState();
    return { state, spare };
  }

  setDropoutState(state: DropoutState): void {
    this.model.setDropoutState({ state: state.state ?? 0, spare: state.spare ?? null });
  }

  setDropoutSeed(seed: number): void {
    this.model.setDropoutSeed(seed);
  }

  dispose(): void {
    this.zeroGradients();
    this.deviceOptimizer?.dispose();
    this.model.dispose();
  }
}
