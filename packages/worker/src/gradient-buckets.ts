/**
 * Gradient bucketing, as PyTorch DDP and Horovod do: many small named gradients are copied
 * into a few flat ~25 MB buffers so all-reduce runs a few large collectives rather than one
 * per tensor (per-call latency dominates small tensors).
 */
import type { ProcessGroup, WireDType } from './process-group.js';
import { roundToHalf } from './reduce-kernels.js';
import { allReduceRowSparse, rowCount } from './row-sparse-reduce.js';

/** DDP's default bucket size (bucket_cap_mb=25). */
export const DEFAULT_BUCKET_BYTES = 25 * 1024 * 1024;

/** One named gradient's place inside a bucket. */
export interface BucketSlot {
  name: string;
  offset: number;
  length: number;
}

/** A flat buffer holding several gradients back to back. */
export interface GradientBucket {
  slots: BucketSlot[];
  length: number;
}

/**
 * Groups gradients (in the given order, which every rank must share) into buckets of at most
 * `bucketBytes` (a single gradient larger than that gets a bucket of its own).
 */
export function planBuckets(
  sizes: ReadonlyArray<readonly [name: string, length: number]>,
  bucketBytes = DEFAULT_BUCKET_BYTES,
): GradientBucket[] {
  const capacity = Math.max(1, Math.floor(bucketBytes / 4));
  const buckets: GradientBucket[] = [];
  let current: GradientBucket = { slots: [], length: 0 };
  const seen = new Set<string>();
  for (const [name, length] of sizes) {
    if (seen.has(name)) throw new Error(`gradient '${name}' is listed twice`);
    seen.add(name);
    if (current.length > 0 && current.length + length > capacity) {
      buckets.push(current);
      current = { slots: [], length: 0 };
    }
    current.slots.push({ name, offset: current.length, length });
    current.length += length;
  }
  if (current.slots.length > 0) buckets.push(current);
  return buckets;
}

/** Options of a gradient all-reduce; every rank must pass the same. */
export interface GradientReduceOptions {
  /**
   * Gradients that are zero outside a few rows (e.g. word embeddings), by name, with their
   * row width: only the rows some rank touched travel (row-sparse-reduce.ts). Names not among
   * the gradients are ignored.
   */
  rowSparse?: ReadonlyMap<string, number>;
}

/**
 * One gradient reduction handed in piece by piece (DDP's reducer): `add` copies a gradient
 * into its bucket, and a bucket's all-reduce starts as soon as its last gradient arrived,
 * while the caller goes on (e.g. with the backward pass of earlier layers). Buckets are
 * all-reduced in plan order on every rank (a bucket completed early waits for the ones
 * before it), so ranks that hand gradients in different orders still run the same
 * collectives. `done` resolves once every bucket is reduced and written back.
 */
export class BucketedReduction {
  private readonly grads = new Map<string, Float32Array>();
  private readonly missing: number[];
  private readonly bucketOf = new Map<string, number>();
  private readonly completed: boolean[];
  private nextToStart = 0;
  private chain: Promise<void> = Promise.resolve();
  private failure: Error | undefined;
  /** False until `done` settled: the bucketer's buffers are in use until then. */
  settled = false;

  constructor(
    private readonly group: ProcessGroup,
    private readonly plan: GradientBucket[],
    private readonly buffers: Float32Array[],
    private readonly op: 'sum' | 'mean',
    private readonly wire: WireDType,
    private readonly sparse: ReadonlyMap<string, number>,
    private readonly lengths: ReadonlyMap<string, number>,
  ) {
    this.missing = plan.map((b) => b.slots.length);
    this.completed = plan.map(() => false);
    plan.forEach((b, i) => b.slots.forEach((slot) => this.bucketOf.set(slot.name, i)));
  }

  /** Hands in gradient `name` (reduced in place, in this array, by the time `done` resolves). */
  add(name: string, grad: Float32Array): void {
    if (!this.lengths.has(name))
      throw new Error(`gradient '${name}' was not declared when the reduction began`);
    if (this.grads.has(name)) throw new Error(`gradient '${name}' was handed in twice`);
    const declared = this.lengths.get(name)!;
    if (grad.length !== declared)
      throw new RangeError(
        `gradient '${name}' has ${grad.length} values; ${declared} were declared`,
      );
    this.grads.set(name, grad);
    const b = this.bucketOf.get(name);
    if (this.group.worldSize === 1) {
      // Nothing to exchange, but the values take the wire format's precision as the ring's
      // result does, so a run's numerics do not depend on its number of workers.
      if (this.wire !== 'fp32') roundToHalf(grad, this.wire);
      return;
    }
    // Row-sparse gradients are reduced in `done`.
    if (b === undefined) return;
    const slot = this.plan[b].slots.find((s) => s.name === name)!;
    this.buffers[b].set(grad, slot.offset);
    if (--this.missing[b] === 0) {
      this.completed[b] = true;
      this.startReady();
    }
  }

  /** Queues the all-reduce of every completed bucket whose predecessors are queued. */
  private startReady(): void {
    while (this.nextToStart < this.plan.length && this.completed[this.nextToStart]) {
      const b = this.nextToStart++;
      // Chained: the group runs one collective at a time, each rank in the same order.
      this.chain = this.chain.then(() => this.reduceBucket(b));
      this.chain.catch((error: Error) => (this.failure ??= error));
    }
  }

  private async reduceBucket(b: number): Promise<void> {
    const flat = this.buffers[b];
    await this.group.allReduce(flat, this.op, { wire: this.wire });
    for (const slot of this.plan[b].slots)
      this.grads.get(slot.name)!.set(flat.subarray(slot.offset, slot.offset + slot.length));
  }

  /** Resolves with every gradient once all are reduced; rejects when some were never handed in. */
  async done(): Promise<Map<string, Float32Array>> {
    try {
      return await this.finish();
    } finally {
      this.settled = true;
    }
  }

  private async finish(): Promise<Map<string, Float32Array>> {
    const absent = [...this.lengths.keys()].filter((name) => !this.grads.has(name));
    if (absent.length > 0)
      throw new Error(
        `gradient reduction finished with ${absent.length} gradient(s) never handed in: ${absent.slice(0, 5).join(', ')}`,
      );
    await this.chain;
    if (this.failure) throw this.failure;
    if (this.group.worldSize > 1)
      for (const [name, width] of this.sparse)
        await allReduceRowSparse(this.group, this.grads.get(name)!, width, this.op, this.wire);
    return this.grads;
  }
}

/** Averages (or sums) named gradients over the group, in place, one collective per bucket. */
export class GradientBucketer {
  private plan: GradientBucket[] | undefined;
  private planKey = '';
  private buffers: Float32Array[] = [];
  private current: BucketedReduction | undefined;

  constructor(
    private readonly group: ProcessGroup,
    private readonly bucketBytes = DEFAULT_BUCKET_BYTES,
  ) {}

  /**
   * Begins a reduction of the gradients `sizes` names (name and length, in the order they
   * will be ready; the same on every rank); hand each in with `add`, then await `done`.
   */
  begin(
    sizes: ReadonlyArray<readonly [name: string, length: number]>,
    op: 'sum' | 'mean' = 'mean',
    wire: WireDType = 'fp32',
    options: GradientReduceOptions = {},
  ): BucketedReduction {
    if (this.current && !this.current.settled)
      throw new Error('a gradient reduction began before the previous one was done: await done()');
    const rowSparse = options.rowSparse ?? new Map<string, number>();
    const sparse = new Map<string, number>();
    for (const [name, length] of sizes) {
      const width = rowSparse.get(name);
      if (width === undefined) continue;
      // Checked in a world of one too, so a wrong width fails before the first multi-process run.
      rowCount(length, width, name);
      sparse.set(name, width);
    }
    const dense = sizes.filter(([name]) => !sparse.has(name));
    const key = dense.map(([n, l]) => `${n}:${l}`).join('|');
    if (!this.plan || key !== this.planKey) {
      this.release();
      this.plan = planBuckets(dense, this.bucketBytes);
      this.planKey = key;
      // The group's own buffers: the neighbour on this machine reads them in place.
      this.buffers =
        this.group.worldSize === 1 ? [] : this.plan.map((b) => this.group.allocateBuffer(b.length));
    }
    this.current = new BucketedReduction(
      this.group,
      this.plan,
      this.buffers,
      op,
      wire,
      sparse,
      new Map(sizes),
    );
    return this.current;
  }

  /** Gives the buckets' buffers back to the group (a reduction still running keeps them). */
  release(): void {
    if (this.current && !this.current.settled) return;
    for (const buffer of this.buffers) this.group.releaseBuffer(buffer);
    this.buffers = [];
    this.plan = undefined;
    this.planKey = '';
  }

  /** All-reduces every gradient in `grads` in place; returns `grads`. */
  async reduce(
    grads: Map<string, Float32Array>,
    op: 'sum' | 'mean' = 'mean',
    wire: WireDType = 'fp32',
    options: GradientReduceOptions = {},
  ): Promise<Map<string, Float32Array>> {
    const reduction = this.begin(
      [...grads].map(([name, g]) => [name, g.length] as const),
      op,
      wire,
      options,
    );
    for (const [name, g] of grads) reduction.add(name, g);
    await reduction.done();
    return grads;
  }
}
