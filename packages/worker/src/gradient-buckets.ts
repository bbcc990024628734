/**
 * Gradient bucketing, as PyTorch DDP and Horovod do: many small named gradients are copied
 * into a few flat ~25 MB buffers so all-reduce runs a few large collectives rather than one
 * per tensor (per-call latency dominates small tensors).
 */
import type { ProcessGroup, WireDType } from './process-group.js';
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

/** Averages (or sums) named gradients over the group, in place, one collective per bucket. */
export class GradientBucketer {
  private plan: GradientBucket[] | undefined;
  private planKey = '';
  private buffers: Float32Array[] = [];

  constructor(
    private readonly group: ProcessGroup,
    private readonly bucketBytes = DEFAULT_BUCKET_BYTES,
  ) {}

  /** All-reduces every gradient in `grads` in place; returns `grads`. */
  async reduce(
    grads: Map<string, Float32Array>,
    op: 'sum' | 'mean' = 'mean',
    wire: WireDType = 'fp32',
    options: GradientReduceOptions = {},
  ): Promise<Map<string, Float32Array>> {
    const rowSparse = options.rowSparse ?? new Map<string, number>();
    const sparse = [...grads].filter(([name]) => rowSparse.has(name));
    // Checked in a world of one too, so a wrong width fails before the first multi-process run.
    for (const [name, g] of sparse) rowCount(g.length, rowSparse.get(name)!, name);
    if (this.group.worldSize === 1) return grads;
    const sizes = [...grads]
      .filter(([name]) => !rowSparse.has(name))
      .map(([name, g]) => [name, g.length] as const);
    const key = sizes.map(([n, l]) => `${n}:${l}`).join('|');
    if (!this.plan || key !== this.planKey) {
      this.plan = planBuckets(sizes, this.bucketBytes);
      this.planKey = key;
      this.buffers = this.plan.map((b) => new Float32Array(b.length));
    }
    for (let b = 0; b < this.plan.length; b++) {
      const bucket = this.plan[b];
      const flat = this.buffers[b];
      for (const slot of bucket.slots) flat.set(grads.get(slot.name)!, slot.offset);
      await this.group.allReduce(flat, op, { wire });
      for (const slot of bucket.slots)
        grads.get(slot.name)!.set(flat.subarray(slot.offset, slot.offset + slot.length));
    }
    for (const [name, g] of sparse)
      await allReduceRowSparse(this.group, g, rowSparse.get(name)!, op, wire);
    return grads;
  }
}
