/**
 * The Accelerator-like API for training scripts (accelerate's Accelerator, without hidden
 * globals): one context object created from the worker env, holding the process group and
 * the helpers a data-parallel loop needs. The same code runs with 1 process (no gRPC) and
 * N. It works on plain Float32Arrays; the trainer adapts its tensors.
 */
import {
  writeDirectoryAtomic,
  mulberry32,
  createLogger,
  type Logger,
  type JsonValue,
} from '@ner-launch/common';
import {
  DistributedSampler,
  type DistributedSamplerOptions,
  type SamplerBatch,
} from './distributed-sampler.js';
import {
  GradientBucketer,
  DEFAULT_BUCKET_BYTES,
  type BucketedReduction,
  type GradientReduceOptions,
} from './gradient-buckets.js';
import { GrpcProcessGroup } from './grpc-process-group.js';
import { ProcessGroupError, type ProcessGroup, type WireDType } from './process-group.js';
import { SingleProcessGroup } from './single-process-group.js';
import { fromEnv, type MixedPrecision, type WorkerEnv } from './worker-env.js';

/**
 * What mixed precision means for the gradient all-reduce, in the trainer and in a user's own
 * script alike: fp16 / bf16 gradients cross the wire in that format (half the bytes, as DDP's
 * fp16/bf16 compression hooks) and come back rounded to it, in a world of one too; `no` keeps
 * float32. (The trainer adds fp16 loss scaling around it; the math stays the script's.)
 */
export function gradientWireFor(mode: MixedPrecision): WireDType {
  return mode === 'no' ? 'fp32' : mode;
}

/** How to build an Accelerator; everything defaults from the worker env. */
export interface AcceleratorOptions {
  /** Worker env (default: read from process.env). */
  env?: WorkerEnv;
  /** An existing process group (tests); default: SingleProcessGroup or GrpcProcessGroup by world size. */
  group?: ProcessGroup;
  /** Largest ring frame payload (tests force small pieces). */
  maxPayloadBytes?: number;
  /** Gradient bucket size (default 25 MB, as DDP). */
  bucketBytes?: number;
  /**
   * Mixed precision of this script, overriding the launch config's (`--mixed_precision`,
   * NER_MIXED_PRECISION), as accelerate's `Accelerator(mixed_precision=...)`; it sets the
   * gradient all-reduce's wire format (`gradientWireFor`).
   */
  mixedPrecision?: MixedPrecision;
  logger?: Logger;
}

/** Gradients by parameter name (a Map keeps the order every rank must share). */
export type NamedGradients = Map<string, Float32Array> | Record<string, Float32Array>;

function asMap(grads: NamedGradients): Map<string, Float32Array> {
  return grads instanceof Map ? grads : new Map(Object.entries(grads));
}

/** Data-parallel training context of one worker. */
export class Accelerator {
  /** Logger of this rank (every rank logs). */
  readonly log: Logger;
  /** Logger that only the main process writes through (others are silent). */
  readonly mainLog: Logger;
  /** The mixed precision in effect: the script's own (AcceleratorOptions) or the launch config's. */
  readonly mixedPrecision: MixedPrecision;
  private readonly bucketer: GradientBucketer;
  private readonly gradientWire: WireDType;
  private seedValue = 0;

  private constructor(
    readonly env: WorkerEnv,
    readonly group: ProcessGroup,
    options: AcceleratorOptions,
  ) {
    this.log = options.logger ?? createLogger({ rank: env.rank });
    this.mainLog = this.isMainProcess ? this.log : this.log.child({}, { level: 'silent' });
    this.bucketer = new GradientBucketer(group, options.bucketBytes ?? DEFAULT_BUCKET_BYTES);
    this.mixedPrecision = options.mixedPrecision ?? env.mixedPrecision;
    this.gradientWire = gradientWireFor(this.mixedPrecision);
  }

  /** Joins the process group described by the env (rendezvous when WORLD_SIZE > 1). */
  static async create(options: AcceleratorOptions = {}): Promise<Accelerator> {
    const env = options.env ?? fromEnv();
    let group = options.group;
    if (!group) {
      group =
        env.worldSize === 1
          ? new SingleProcessGroup()
          : await GrpcProcessGroup.create({
              rank: env.rank,
              worldSize: env.worldSize,
              masterAddr: env.masterAddr,
              masterPort: env.masterPort,
              localAddr: env.localAddr,
              token: env.runToken,
              rendezvousTimeoutMs: env.rdzvTimeoutS * 1000,
              collectiveTimeoutMs: env.collectiveTimeoutS * 1000,
              maxPayloadBytes: options.maxPayloadBytes,
            });
    }
    if (group.rank !== env.rank || group.worldSize !== env.worldSize)
      throw new Error(
        `process group is rank ${group.rank} of ${group.worldSize}, the env says ${env.rank} of ${env.worldSize}`,
      );
    return new Accelerator(env, group, options);
  }

  get rank(): number {
    return this.env.rank;
  }

  get worldSize(): number {
    return this.env.worldSize;
  }

  get localRank(): number {
    return this.env.localRank;
  }

  /** Global rank 0: the one that writes files and logs. */
  get isMainProcess(): boolean {
    return this.env.rank === 0;
  }

  /** Local rank 0: the one per machine for per-machine work (downloads, caches). */
  get isLocalMainProcess(): boolean {
    return this.env.localRank === 0;
  }

  /** Sets the seed of samplers and `random` (same on every rank, as accelerate's set_seed). */
  setSeed(seed: number): void {
    if (!Number.isInteger(seed)) throw new RangeError(`seed ${seed} is not an integer`);
    this.seedValue = seed;
  }

  get seed(): number {
    return this.seedValue;
  }

  /** A PRNG seeded from the seed (plus `stream`, e.g. for dropout per rank). */
  random(stream = 0): () => number {
    return mulberry32((this.seedValue ^ Math.imul(stream + 1, 0x9e3779b1)) >>> 0);
  }

  /** A sampler that shards a dataset over the ranks, seeded and reshuffled per epoch. */
  prepare(options: Omit<DistributedSamplerOptions, 'rank' | 'worldSize'>): DistributedSampler {
    return new DistributedSampler({
      seed: this.seedValue,
      ...options,
      rank: this.rank,
      worldSize: this.worldSize,
    });
  }

  /**
   * Averages gradients over all ranks in place (bucketed all-reduce, in the wire format of
   * `mixedPrecision`; `rowSparse` ones only in the rows some rank touched); returns them.
   */
  async reduceGradients(
    grads: NamedGradients,
    options: GradientReduceOptions = {},
  ): Promise<Map<string, Float32Array>> {
    return this.bucketer.reduce(asMap(grads), 'mean', this.gradientWire, options);
  }

  /**
   * Begins averaging the gradients `sizes` names (name and length, in the order they become
   * ready, e.g. last layer first; the same on every rank): hand each in with `add` as soon as
   * it is computed, and each bucket's all-reduce starts while the caller computes the rest;
   * `done()` resolves once all are averaged in place (DDP's overlap of backward and
   * communication).
   */
  beginGradientReduce(
    sizes: ReadonlyArray<readonly [name: string, length: number]>,
    options: GradientReduceOptions = {},
  ): BucketedReduction {
    return this.bucketer.begin(sizes, 'mean', this.gradientWire, options);
  }

  /**
   * Scales gradients in place so their global L2 norm is at most `maxNorm` (call after
   * reduceGradients: the gradients are identical everywhere, so no communication is needed).
   * Returns the norm before clipping, as torch's clip_grad_norm_.
   */
  clipGradNorm(grads: NamedGradients, maxNorm: number): number {
    const map = asMap(grads);
    let sumSquares = 0;
    for (const g of map.values()) for (let i = 0; i < g.length; i++) sumSquares += g[i] * g[i];
    const norm = Math.sqrt(sumSquares);
    const coef = maxNorm / (norm + 1e-6);
    if (coef < 1) for (const g of map.values()) for (let i = 0; i < g.length; i++) g[i] *= coef;
    return norm;
  }

  /**
   * Every rank's per-sample `items` for `batch`, in the epoch's global order, without the
   * padded duplicates that evened out the last batch (accelerate's gather_for_metrics).
   */
  async gatherForMetrics<T extends JsonValue>(items: T[], batch: SamplerBatch): Promise<T[]> {
    if (items.length !== batch.indices.length)
      throw new RangeError(
        `gatherForMetrics got ${items.length} items for a batch of ${batch.indices.length} samples`,
      );
    const mine = items
      .slice(0, batch.realCount)
      .map((item, i) => [batch.positions[i], item] as [number, T]);
    const all = await this.group.gatherObject(mine as unknown as JsonValue);
    return (all as unknown as Array<Array<[number, T]>>)
      .flat()
      .sort((a, b) => a[0] - b[0])
      .map(([, item]) => item);
  }

  /** Blocks until every rank got here (accelerate's wait_for_everyone). */
  waitForEveryone(): Promise<void> {
    return this.group.barrier();
  }

  /** Writes `text` to stdout on the main process only. */
  print(text: string): void {
    if (this.isMainProcess) process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  }

  /**
   * Saves state: the main process builds `dir` atomically with `write` (called with the temp
   * directory), everyone waits, and a failure on rank 0 fails every rank.
   */
  async saveState(dir: string, write: (tmpDir: string) => Promise<void>): Promise<void> {
    let outcome: JsonValue = { ok: true };
    if (this.isMainProcess) {
      try {
        await writeDirectoryAtomic(dir, write);
      } catch (error) {
        outcome = { ok: false, message: (error as Error).message };
      }
    }
    const result = (await this.group.broadcastObject(outcome, 0)) as {
      ok: boolean;
      message?: string;
    };
    if (!result.ok)
      throw new ProcessGroupError(`rank 0 failed to save state to ${dir}: ${result.message}`);
  }

  /** Loads state on every rank with `read` (a shared or copied `dir`), then waits for everyone. */
  async loadState<T>(dir: string, read: (dir: string) => Promise<T>): Promise<T> {
    let value: T | undefined;
    let failure: string | undefined;
    try {
      value = await read(dir);
    } catch (error) {
      failure = (error as Error).message;
    }
    const failures = await this.group.gatherObject(failure ?? null);
    const bad = failures.flatMap((f, r) => (f === null ? [] : [`rank ${r}: ${f}`]));
    if (bad.length > 0)
      throw new ProcessGroupError(`loading state from ${dir} failed on ${bad.join('; ')}`);
    return value as T;
  }

  /** Leaves the process group (a barrier, then the connections close). */
  end(): Promise<void> {
    this.bucketer.release();
    return this.group.close();
  }

  /** Leaves the process group because this rank failed with `error`: the peers stop at once. */
  abort(error: unknown): Promise<void> {
    const message = error instanceof Error ? error.message : String(error);
    return this.group.abort(message.split('\n')[0]!.slice(0, 2000));
  }
}
