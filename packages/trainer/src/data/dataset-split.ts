/**
 * Deterministic train/val/test split. The shuffle is Fisher–Yates (from the last index down,
 * j = floor(r * (i + 1))) driven by mulberry32 seeded with the 32-bit seed: small, fully
 * specified, so a split can be reproduced from the seed in any language.
 */

import { mulberry32, UsageError } from '@ner-launch/common';

/** A seeded Fisher–Yates shuffle of a copy of `items`. */
export function seededShuffle<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  const random = mulberry32(seed);
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

/** Ratios of a split; test gets the rest. */
export interface SplitRatios {
  train: number;
  val: number;
}

/** Checks ratios; throws naming the flag. */
export function checkSplitRatios(r: SplitRatios): void {
  if (!(r.train > 0 && r.train <= 1))
    throw new UsageError(`--train_ratio must be in (0, 1], got ${r.train}`);
  if (!(r.val >= 0 && r.val < 1))
    throw new UsageError(`--val_ratio must be in [0, 1), got ${r.val}`);
  if (r.train + r.val > 1 + 1e-12)
    throw new UsageError(`--train_ratio + --val_ratio must not exceed 1, got ${r.train + r.val}`);
}

/**
 * Shuffles with `seed` and cuts: train = floor(n * train), val = floor(n * val), test = rest.
 * Each part keeps the shuffled order.
 */
export function splitDataset<T>(
  items: readonly T[],
  ratios: SplitRatios,
  seed: number,
): { train: T[]; val: T[]; test: T[] } {
  checkSplitRatios(ratios);
  const shuffled = seededShuffle(items, seed);
  const nTrain = Math.floor(items.length * ratios.train);
  const nVal = Math.min(Math.floor(items.length * ratios.val), items.length - nTrain);
  return {
    train: shuffled.slice(0, nTrain),
    val: shuffled.slice(nTrain, nTrain + nVal),
    test: shuffled.slice(nTrain + nVal),
  };
}
