/**
 * Gradient bucketing, as PyTorch DDP and Horovod do: many small named gradients are copied
 * into a few flat ~25 MB buffers so all-reduce runs a few large collectives rather than one
 * per tensor (per-call latency dominates small tensors).
 */
import type { ProcessGroup, WireDType } from './process-group.js';

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
  ): Promise<Map<string, Float32Array>> {
    if (this.group.worldSize === 1) return grads;
    const sizes = [...grads].map(([name, g]) => [name, g.length] as const);
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
    return grads;
  }
}
