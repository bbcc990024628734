/**
 * The trainer's input directory: `train.csv`, `val.csv`, `test.csv` read as the trainer reads
 * them, with the label set fixed from train (or given), and every split checked against it.
 */
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { DataError } from './data-error.js';
import type { DatasetSummary } from './dataset-summary.js';
import { readDataset } from './dataset.js';
import { checkLabelList, labelsFromSentences, unknownTagErrors } from './label-set.js';
import type { Sentence } from './sentence.js';

/** Split names, in the order they are read and reported. */
export const SPLIT_NAMES = ['train', 'val', 'test'] as const;

/** One of train / val / test. */
export type SplitName = (typeof SPLIT_NAMES)[number];

/** The three splits, the label list and what was read. */
export interface DataSplits {
  train: Sentence[];
  val: Sentence[];
  test: Sentence[];
  labels: string[];
  /** Where the labels came from: `train data` or `--labels`. */
  labelOrigin: string;
  files: Record<SplitName, string>;
  summaries: Record<SplitName, DatasetSummary>;
  /** Every error found (collect mode only; otherwise the first one is thrown). */
  errors: DataError[];
}

/** Options of readSplits. */
export interface ReadSplitsOptions {
  /** A fixed label list (`--labels`); by default it comes from the training data. */
  labels?: readonly string[];
  /** Gather every error into `errors` instead of throwing the first (for `data validate`). */
  collectErrors?: boolean;
}

/** Reads `<dataPath>/{train,val,test}.csv` for training; throws a DataError on bad input. */
export async function readSplits(
  dataPath: string,
  options: ReadSplitsOptions = {},
): Promise<DataSplits> {
  const files = Object.fromEntries(
    SPLIT_NAMES.map((s) => [s, join(dataPath, `${s}.csv`)]),
  ) as Record<SplitName, string>;
  const missing: string[] = [];
  for (const name of SPLIT_NAMES) {
    try {
      await access(files[name]);
    } catch {
      missing.push(`${name}.csv`);
    }
  }
  if (missing.length > 0)
    throw new DataError(
      dataPath,
      0,
      `missing ${missing.join(', ')} (a data directory holds train.csv, val.csv and test.csv in the reference CSV format)`,
    );
  if (options.labels) checkLabelList(options.labels);

  const errors: DataError[] = [];
  const collect = options.collectErrors ?? false;
  const raise = (found: DataError[]): void => {
    if (found.length === 0) return;
    if (!collect) throw found[0];
    errors.push(...found);
  };
  const loaded = {} as Record<SplitName, Awaited<ReturnType<typeof readDataset>>>;
  for (const name of SPLIT_NAMES) {
    loaded[name] = await readDataset(files[name], { collectErrors: collect, format: 'csv' });
    raise(loaded[name].errors);
    if (loaded[name].sentences.length === 0 && loaded[name].errors.length === 0)
      raise([new DataError(files[name], 0, 'holds no sentences')]);
  }
  const labelOrigin = options.labels ? '--labels' : `labels from ${files.train}`;
  const labels = options.labels ? [...options.labels] : labelsFromSentences(loaded.train.sentences);
  for (const name of SPLIT_NAMES) {
    if (name === 'train' && !options.labels) continue;
    raise(unknownTagErrors(loaded[name].sentences, labels, labelOrigin));
  }
  return {
    train: loaded.train.sentences,
    val: loaded.val.sentences,
    test: loaded.test.sentences,
    labels,
    labelOrigin,
    files,
    summaries: {
      train: loaded.train.summary,
      val: loaded.val.summary,
      test: loaded.test.summary,
    },
    errors,
  };
}
