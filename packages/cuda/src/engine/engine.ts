/**
 * CudaBertEngine: BertForTokenClassification training on one NVIDIA GPU through the driver API,
 * NVRTC-compiled kernels and cuBLASLt. Parameters (fp32 master + floatX copy), gradients and AdamW
 * moments are flat device buffers in one layout; the trainer talks to it by HF parameter names.
 */
import { CublasLt, type MatrixType } from '../libraries/cublaslt.js';
import { discoverCuda, type CudaDiscovery } from '../libraries/discovery.js';
import { CudaDriver, type DevicePtr } from '../libraries/driver.js';
import type { NcclComm } from '../libraries/nccl.js';
import { loadNvrtc } from '../libraries/nvrtc.js';
import { KernelSet } from '../kernels/kernel-set.js';
import { floatXBytes, type Precision } from '../kernels/precision.js';
import { planActivations, type ActivationPlan } from './activation-plan.js';
import { checkDims, type CudaBertDims } from './dims.js';
import { checkBatch, type HostBatch } from './host-batch.js';
import {
  packNamed,
  packWeights,
  unpackNamed,
  unpackWeights,
  type HostTensor,
  type HostWeights,
} from './host-weights.js';
import { ParameterLayout, type GroupRun } from './layout.js';
import type { DeviceMemory, EngineDevice, KernelLauncher, Matmul } from './device-api.js';
import { backward, forward } from './model-step.js';
import {
  adamwUpdate,
  clipGradients,
  OPTIMIZER_SCRATCH_BYTES,
  scaleGradients,
  type OptimizerBuffers,
} from './optimizer.js';
import { shared, type StepContext } from './step-context.js';

/** One torch-style param group (its lr comes with each adamwStep). */
export interface CudaParamGroup {
  params: string[];
  weightDecay: number;
}

/** Options of CudaBertEngine.create. */
export interface CudaBertEngineOptions {
  dims: CudaBertDims;
  weights: ReadonlyMap<string, HostTensor>;
  /** fp32 = TF32 off (torch's default), tf32, or bf16/fp16 activations with fp32 master weights. */
  precision: Precision;
  /** Dropout seed (Philox key). */
  seed: number;
  /** CUDA device ordinal (default 0, i.e. the first of CUDA_VISIBLE_DEVICES). */
  device?: number;
  paramGroups: CudaParamGroup[];
  /** Tokens (B*T) to preallocate activations for (default: allocated at the first batch). */
  maxTokens?: number;
  /** Where the libraries are (default discoverCuda()). */
  discovery?: CudaDiscovery;
}

/** AdamW state of one parameter, as torch's optimizer.state[p]. */
export interface CudaAdamWState {
  step: number;
  expAvg: Float32Array;
  expAvgSq: Float32Array;
}

const WORKSPACE_BYTES = 32 * 1024 * 1024;
const ALLREDUCE_BUCKET = 16 * 1024 * 1024;

/** BERT token classification on one GPU. */
export class CudaBertEngine {
  private readonly layout: ParameterLayout;
  private readonly runs: GroupRun[];
  private readonly weightDecays: number[];
  private readonly xType: MatrixType;
  private readonly xBytes: number;
  private readonly buffers: {
    params: DevicePtr;
    paramsX: DevicePtr | null;
    grads: DevicePtr;
    expAvg: DevicePtr;
    expAvgSq: DevicePtr;
    scratch: DevicePtr;
    workspace: DevicePtr;
  };
  private activations: { ptr: DevicePtr; plan: ActivationPlan; bytes: number } | undefined;
  private step = 0;
  private counter = 0n;
  private seed: number;
  private disposed = false;

  private readonly driver: DeviceMemory;
  private readonly device: number;
  private readonly stream: unknown;
  private readonly kernels: KernelLauncher;
  private readonly blas: Matmul;
  readonly dims: CudaBertDims;
  readonly precision: Precision;

  private constructor(options: CudaBertEngineOptions, on: EngineDevice) {
    const { driver, dims } = { driver: on.driver, dims: options.dims };
    this.driver = driver;
    this.device = on.device;
    this.stream = on.stream;
    this.kernels = on.kernels;
    this.blas = on.blas;
    this.dims = dims;
    this.precision = options.precision;
    const { precision } = options;
    const workspace = on.workspace;
    this.layout = new ParameterLayout(dims);
    this.runs = this.layout.groupRuns(options.paramGroups);
    this.weightDecays = options.paramGroups.map((group) => group.weightDecay);
    this.xType = precision === 'bf16' ? 'bf16' : precision === 'fp16' ? 'f16' : 'f32';
    this.xBytes = floatXBytes(precision);
    this.seed = options.seed >>> 0;
    const bytes = this.layout.totalSize * 4;
    const params = driver.alloc(bytes);
    const half = this.xBytes === 2;
    this.buffers = {
      params,
      paramsX: half ? driver.alloc(this.layout.totalSize * 2) : null,
      grads: driver.alloc(bytes),
      expAvg: driver.alloc(bytes),
      expAvgSq: driver.alloc(bytes),
      scratch: driver.alloc(OPTIMIZER_SCRATCH_BYTES),
      workspace,
    };
    driver.upload(params, packWeights(this.layout, options.weights));
    this.refreshHalfWeights();
    for (const buffer of [this.buffers.grads, this.buffers.expAvg, this.buffers.expAvgSq])
      driver.fill32(buffer, 0, this.layout.totalSize);
    if (options.maxTokens)
      this.ensureActivations(1, Math.min(options.maxTokens, dims.maxPositions), options.maxTokens);
  }

  /** Loads the libraries, compiles (or reads cached) kernels for the device, uploads the weights. */
  static create(options: CudaBertEngineOptions): CudaBertEngine {
    checkDims(options.dims);
    const discovery = options.discovery ?? discoverCuda();
    const driver = CudaDriver.load(discovery);
    const device = driver.device(options.device ?? 0);
    driver.retainPrimaryContext(device);
    const [major, minor] = driver.computeCapability(device);
    const stream = driver.createStream();
    const kernels = new KernelSet(
      driver,
      loadNvrtc(discovery),
      major * 10 + minor,
      options.precision,
      stream,
      driver.multiprocessors(device),
    );
    const workspace = driver.alloc(WORKSPACE_BYTES);
    const blas = new CublasLt(
      discovery,
      workspace,
      WORKSPACE_BYTES,
      stream,
      options.precision === 'tf32',
    );
    return CudaBertEngine.onDevice(options, { driver, device, stream, kernels, blas, workspace });
  }

  /** create's second half over given device objects (the CPU tests pass an emulation). */
  static onDevice(options: CudaBertEngineOptions, on: EngineDevice): CudaBertEngine {
    checkDims(options.dims);
    return new CudaBertEngine(options, on);
  }

  private refreshHalfWeights(): void {
    if (this.buffers.paramsX !== null)
      this.kernels.elementwise('cast_to_floatx', this.layout.totalSize, [
        this.buffers.paramsX,
        this.buffers.params,
        this.layout.totalSize,
      ]);
  }

  private ensureActivations(batchSize: number, seqLen: number, tokens = batchSize * seqLen): void {
    // Sized by tokens for the per-token buffers and by tokens * seqLen for attention's.
    const plan = planActivations(
      this.dims,
      Math.max(1, Math.floor(tokens / seqLen)),
      seqLen,
      this.xBytes,
    );
    const wanted = Math.max(
      plan.totalBytes,
      planActivations(this.dims, batchSize, seqLen, this.xBytes).totalBytes,
    );
    if (!this.activations || this.activations.bytes < wanted) {
      if (this.activations) this.driver.free(this.activations.ptr);
      this.activations = { ptr: this.driver.alloc(wanted), plan, bytes: wanted };
    }
    this.activations.plan = planActivations(this.dims, batchSize, seqLen, this.xBytes);
  }

  private context(batch: HostBatch, training: boolean): StepContext {
    if (this.disposed) throw new Error('the CUDA engine has been disposed');
    checkBatch(this.dims, batch);
    this.ensureActivations(batch.batchSize, batch.seqLen);
    const { ptr, plan } = this.activations!;
    const ctx: StepContext = {
      kernels: this.kernels,
      blas: this.blas,
      dims: this.dims,
      layout: this.layout,
      xType: this.xType,
      xBytes: this.xBytes,
      params: this.buffers.params,
      paramsX: this.buffers.paramsX ?? this.buffers.params,
      grads: this.buffers.grads,
      activations: ptr,
      plan,
      training,
      seed: this.seed,
      counter: this.counter,
    };
    this.driver.synchronize(this.stream);
    this.driver.upload(shared(ctx, 'ids'), batch.inputIds);
    this.driver.upload(shared(ctx, 'mask'), batch.attentionMask);
    this.driver.upload(shared(ctx, 'labels'), batch.labels);
    return ctx;
  }

  private download<T extends Float32Array | Int32Array>(out: T, src: DevicePtr): T {
    this.driver.synchronize(this.stream);
    this.driver.download(out, src);
    return out;
  }

  /**
   * Forward + backward of one (micro-)batch, gradients added to the accumulated ones. The loss is
   * the labelled-token cross-entropy sum over `lossNormalizer`; gradients are of that times
   * `lossScale` (fp16 loss scaling; the returned loss is unscaled).
   */
  accumulateGradients(
    batch: HostBatch,
    o: { lossNormalizer: number; lossScale?: number; training: boolean; withPredictions?: boolean },
  ): { loss: number; predictions?: Int32Array } {
    const ctx = this.context(batch, o.training);
    forward(ctx, {
      gradScale: (o.lossScale ?? 1) / o.lossNormalizer,
      withPredictions: o.withPredictions ?? false,
    });
    backward(ctx);
    if (o.training) this.counter += 1n;
    const n = batch.batchSize * batch.seqLen;
    const rowLoss = this.download(new Float32Array(n), shared(ctx, 'rowLoss'));
    let sum = 0;
    for (const value of rowLoss) sum += value;
    const loss = sum / o.lossNormalizer;
    if (!o.withPredictions) return { loss };
    return { loss, predictions: this.download(new Int32Array(n), shared(ctx, 'predictions')) };
  }

  /** Forward only (no dropout): argmax labels and the summed loss over labelled tokens. */
  evaluate(batch: HostBatch): { predictions: Int32Array; lossSum: number } {
    const ctx = this.context(batch, false);
    forward(ctx, { withPredictions: true });
    const n = batch.batchSize * batch.seqLen;
    const rowLoss = this.download(new Float32Array(n), shared(ctx, 'rowLoss'));
    let lossSum = 0;
    for (const value of rowLoss) lossSum += value;
    return { predictions: this.download(new Int32Array(n), shared(ctx, 'predictions')), lossSum };
  }

  /** Eval-mode logits [B, T, numLabels] as float32. */
  logits(batch: HostBatch): Float32Array {
    const ctx = this.context(batch, false);
    forward(ctx, { withPredictions: false });
    const count = batch.batchSize * batch.seqLen * this.dims.numLabels;
    this.kernels.elementwise('cast_to_float', count, [
      shared(ctx, 'logits32'),
      shared(ctx, 'logits'),
      count,
    ]);
    return this.download(new Float32Array(count), shared(ctx, 'logits32'));
  }

  /** Accumulated gradients by HF name (for the host ring all-reduce). */
  readGradients(): Map<string, Float32Array> {
    return unpackNamed(
      this.layout,
      this.download(new Float32Array(this.layout.totalSize), this.buffers.grads),
    );
  }

  /** Replaces the gradients (after the host all-reduce); absent names become 0. */
  writeGradients(gradients: ReadonlyMap<string, Float32Array>): void {
    this.driver.synchronize(this.stream);
    this.driver.upload(this.buffers.grads, packNamed(this.layout, gradients, 'writeGradients'));
  }

  /** NCCL all-reduce of the flat gradient buffer in buckets, mean over ranks. */
  allReduceGradients(comm: NcclComm, op: 'mean'): void {
    for (let offset = 0; offset < this.layout.totalSize; offset += ALLREDUCE_BUCKET) {
      const count = Math.min(ALLREDUCE_BUCKET, this.layout.totalSize - offset);
      comm.allReduceFloat32(this.buffers.grads + BigInt(offset * 4), count, op, this.stream);
    }
    this.driver.synchronize(this.stream);
  }

  private optimizerBuffers(): OptimizerBuffers {
    return {
      driver: this.driver,
      kernels: this.kernels,
      stream: this.stream,
      ...this.buffers,
      totalSize: this.layout.totalSize,
      xBytes: this.xBytes,
    };
  }

  /** Multiplies the gradients by `invScale`; false when any is inf/nan (skip the step, as GradScaler). */
  unscaleAndCheckFinite(invScale: number): boolean {
    return scaleGradients(this.optimizerBuffers(), invScale);
  }

  /** clip_grad_norm_ over all gradients; returns the norm before clipping. */
  clipGradNorm(maxNorm: number): number {
    return clipGradients(this.optimizerBuffers(), maxNorm);
  }

  /** One AdamW step; `lrs` per param group, in the order given to create. */
  adamwStep(lrs: number[], betas: [number, number], eps: number): void {
    if (lrs.length !== this.weightDecays.length)
      throw new Error(
        `adamwStep: ${lrs.length} learning rates for ${this.weightDecays.length} param groups`,
      );
    this.step += 1;
    adamwUpdate(this.optimizerBuffers(), this.runs, {
      step: this.step,
      lrs,
      weightDecays: this.weightDecays,
      betas,
      eps,
    });
  }

  /** Overwrites the fp32 master weights (and their half copies) from host tensors (resume). */
  loadWeights(weights: ReadonlyMap<string, HostTensor>): void {
    this.driver.synchronize(this.stream);
    this.driver.upload(this.buffers.params, packWeights(this.layout, weights));
    this.refreshHalfWeights();
  }

  /** Sets every gradient to 0. */
  zeroGradients(): void {
    this.driver.synchronize(this.stream);
    this.driver.fill32(this.buffers.grads, 0, this.layout.totalSize);
  }

  /** fp32 master weights by HF name. */
  stateDict(): HostWeights {
    return unpackWeights(
      this.layout,
      this.download(new Float32Array(this.layout.totalSize), this.buffers.params),
    );
  }

  private trainedNames(): string[] {
    return [
      ...new Set(
        this.runs.flatMap((run) =>
          [...this.layout.slots.values()]
            .filter((s) => s.offset >= run.offset && s.offset < run.offset + run.size)
            .map((s) => s.name),
        ),
      ),
    ];
  }

  /** AdamW moments of every parameter in a group (empty before the first step). */
  optimizerState(): Map<string, CudaAdamWState> {
    const state = new Map<string, CudaAdamWState>();
    if (this.step === 0) return state;
    const names = this.trainedNames();
    const m = unpackNamed(
      this.layout,
      this.download(new Float32Array(this.layout.totalSize), this.buffers.expAvg),
      names,
    );
    const v = unpackNamed(
      this.layout,
      this.download(new Float32Array(this.layout.totalSize), this.buffers.expAvgSq),
      names,
    );
    for (const name of names)
      state.set(name, { step: this.step, expAvg: m.get(name)!, expAvgSq: v.get(name)! });
    return state;
  }

  /** Restores optimizerState() output (resume); every entry must share one step count. */
  loadOptimizerState(state: ReadonlyMap<string, CudaAdamWState>): void {
    const steps = new Set([...state.values()].map((s) => s.step));
    if (steps.size > 1)
      throw new Error(
        `optimizer state has different step counts (${[...steps].join(', ')}); the cuda engine steps all parameters together`,
      );
    const m = new Map<string, Float32Array>();
    const v = new Map<string, Float32Array>();
    for (const [name, s] of state) {
      m.set(name, s.expAvg);
      v.set(name, s.expAvgSq);
    }
    this.driver.synchronize(this.stream);
    this.driver.upload(this.buffers.expAvg, packNamed(this.layout, m, 'optimizer state exp_avg'));
    this.driver.upload(
      this.buffers.expAvgSq,
      packNamed(this.layout, v, 'optimizer state exp_avg_sq'),
    );
    this.step = [...steps][0] ?? 0;
  }

  /** Where the dropout stream stands (saved in training checkpoints). */
  dropoutState(): { seed: number; counter: number } {
    return { seed: this.seed, counter: Number(this.counter) };
  }

  /** Continues a dropout stream (resume). */
  setDropoutState(s: { seed: number; counter: number }): void {
    this.seed = s.seed >>> 0;
    this.counter = BigInt(s.counter);
  }

  /** Frees every device buffer and the context. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.driver.synchronize(this.stream);
    this.blas.dispose();
    this.kernels.dispose();
    if (this.activations) this.driver.free(this.activations.ptr);
    for (const ptr of Object.values(this.buffers)) if (ptr !== null) this.driver.free(ptr);
    this.driver.destroyStream(this.stream);
    this.driver.releasePrimaryContext(this.device);
  }
}
