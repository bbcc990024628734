/**
 * `--val_test_size f`: when a data folder has only train.csv, carve a validation and a test
 * set of ceil(f x n) sentences each out of it (ceil, as scikit-learn's train_test_split sizes
 * a fractional test set), chosen by a seeded shuffle, so every process and every rerun with
 * the same seed gets the same three sets. Each set keeps the file's original order.
 */
import { mulberry32, UsageError } from '@ner-launch/common';

/** The three sets. */
export interface CarvedSplits<T> {
  train: T[];
  val: T[];
  test: T[];
}

/** Fisher-Yates permutation of 0..n-1 driven by mulberry32(`seed`), as `data split` shuffles. */
export function seededPermutation(n: number, seed: number): number[] {
  const random = mulberry32(seed);
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}

/** Sizes of the carved sets for n sentences: [train, val, test]. */
export function carvedSizes(n: number, fraction: number): [number, number, number] {
  const each = Math.ceil(n * fraction);
  return [n - 2 * each, each, each];
}

/**
 * Splits `items` into train/val/test with `fraction` of them in val and in test each.
 * Throws when the training set would be empty; `what` names the source in that error.
 */
export function carveValTest<T>(
  items: readonly T[],
  fraction: number,
  seed: number,
  what = 'train.csv',
): CarvedSplits<T> {
  if (!(fraction > 0 && fraction < 0.5))
    throw new UsageError(`--val_test_size ${fraction}: must be in (0, 0.5)`);
  const [nTrain, nVal] = carvedSizes(items.length, fraction);
  if (nTrain < 1)
    throw new UsageError(
      `--val_test_size ${fraction}: ${what} has ${items.length} sentences, too few to carve validation and test sets from`,
    );
  const order = seededPermutation(items.length, seed);
  // Which set each original index goes to: val first, then test, the rest train.
  const bucket = new Uint8Array(items.length);
  order.forEach((original, rank) => {
    bucket[original] = rank < nVal ? 1 : rank < 2 * nVal ? 2 : 0;
  });
  const splits: CarvedSplits<T> = { train: [], val: [], test: [] };
  items.forEach((item, i) => {
    (bucket[i] === 1 ? splits.val : bucket[i] === 2 ? splits.test : splits.train).push(item);
  });
  return splits;
}
