/**
 * Batches for inference sorted by length: items of similar length share a batch, so padding
 * (and compute spent on it) stays small. Callers map results back by index, which restores the
 * input order.
 */

/** Indices of `lengths` grouped into batches of at most `batchSize`, shortest first (stable). */
export function lengthBuckets(lengths: readonly number[], batchSize: number): number[][] {
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new Error(`batch size must be a positive integer, got ${batchSize}`);
  const order = lengths.map((_, i) => i).sort((a, b) => lengths[a]! - lengths[b]! || a - b);
  const batches: number[][] = [];
  for (let i = 0; i < order.length; i += batchSize) batches.push(order.slice(i, i + batchSize));
  return batches;
}
