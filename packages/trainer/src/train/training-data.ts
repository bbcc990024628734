/**
 * The trainer's three sets from `--data_path`: train.csv, val.csv and test.csv as the data
 * readers check them, or, with `--val_test_size f` and a folder holding only train.csv,
 * validation and test sets carved from train.csv (seeded; see val-test-split.ts).
 */
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { DataError } from '../data/data-error.js';
import { readDataset } from '../data/dataset.js';
import { checkLabelList, labelsFromSentences, unknownTagErrors } from '../data/label-set.js';
import type { Sentence } from '../data/sentence.js';
import { readSplits } from '../data/splits.js';
import { checkDataPath } from './train-options.js';
import { carveValTest } from './val-test-split.js';

/** The sets the loop trains, validates and tests on. */
export interface TrainingData {
  train: Sentence[];
  val: Sentence[];
  test: Sentence[];
  /** Label list, O first (from train or `--labels`). */
  labels: string[];
  /** How the sets were obtained, for the log and the report. */
  origin: string;
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/** Reads the data folder; errors name the folder, file and record. */
export async function loadTrainingData(options: {
  data_path: string;
  val_test_size?: number;
  labels?: string[];
  seed: number;
}): Promise<TrainingData> {
  const dir = options.data_path;
  await checkDataPath(dir);
  const trainFile = join(dir, 'train.csv');
  const haveVal = await exists(join(dir, 'val.csv'));
  const haveTest = await exists(join(dir, 'test.csv'));
  if (options.val_test_size === undefined || haveVal || haveTest) {
    const splits = await readSplits(dir, options.labels ? { labels: options.labels } : {});
    return {
      train: splits.train,
      val: splits.val,
      test: splits.test,
      labels: splits.labels,
      origin: `${splits.files.train}, ${splits.files.val}, ${splits.files.test}${options.val_test_size === undefined ? '' : ' (--val_test_size ignored: val.csv/test.csv exist)'}`,
    };
  }
  if (!(await exists(trainFile)))
    throw new DataError(dir, 0, 'missing train.csv (needed to carve sets with --val_test_size)');
  if (options.labels) checkLabelList(options.labels);
  const loaded = await readDataset(trainFile, { format: 'csv' });
  if (loaded.errors.length > 0) throw loaded.errors[0];
  if (loaded.sentences.length === 0) throw new DataError(trainFile, 0, 'holds no sentences');
  const labels = options.labels ? [...options.labels] : labelsFromSentences(loaded.sentences);
  if (options.labels) {
    const errors = unknownTagErrors(loaded.sentences, labels, '--labels');
    if (errors.length > 0) throw errors[0];
  }
  const carved = carveValTest(loaded.sentences, options.val_test_size, options.seed, trainFile);
  return {
    ...carved,
    labels,
    origin: `${trainFile} split by --val_test_size ${options.val_test_size} (seed ${options.seed}): ${carved.train.length}/${carved.val.length}/${carved.test.length} sentences`,
  };
}
