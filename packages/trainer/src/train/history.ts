/**
 * The run's figures as files: one record per epoch (the reference's `hist_dict`, plus the
 * learning rate) in `history.csv`, and `metrics.json` = `{ history, test }` where `test` has
 * the shape of `ner-launch score --json` plus the test loss. Both written atomically.
 */
import { join } from 'node:path';
import { writeFileAtomic } from '@ner-launch/common';
import type { NerScores } from '../metrics/ner-scores.js';

/** One epoch's figures; validation ones are the mean of the epoch's k validations. */
export interface EpochRecord {
  /** 1-based. */
  epoch: number;
  train_loss: number;
  train_accuracy: number;
  train_f1: number;
  val_loss: number;
  val_accuracy: number;
  val_f1: number;
  /** Learning rate of the first param group at the epoch's last optimizer step. */
  lr: number;
}

/** Column order of history.csv (and of EpochRecord). */
export const HISTORY_COLUMNS = [
  'epoch',
  'train_loss',
  'train_accuracy',
  'train_f1',
  'val_loss',
  'val_accuracy',
  'val_f1',
  'lr',
] as const satisfies readonly (keyof EpochRecord)[];

/** The test phase's results: `ner-launch score --json` figures plus the mean test loss. */
export interface TestResults extends NerScores {
  loss: number;
}

/** Contents of metrics.json. */
export interface MetricsFile {
  history: EpochRecord[];
  test: TestResults | null;
}

/** history.csv text: a header and one line per epoch; numbers in JS shortest round-trip form. */
export function historyToCsv(history: readonly EpochRecord[]): string {
  const lines = [HISTORY_COLUMNS.join(',')];
  for (const record of history) lines.push(HISTORY_COLUMNS.map((c) => String(record[c])).join(','));
  return `${lines.join('\n')}\n`;
}

/** metrics.json text (pretty-printed, newline-terminated). */
export function metricsToJson(history: readonly EpochRecord[], test: TestResults | null): string {
  const file: MetricsFile = { history: [...history], test };
  return `${JSON.stringify(file, null, 2)}\n`;
}

/** Writes `history.csv` and `metrics.json` into `dir`, each atomically. */
export async function writeHistoryFiles(
  dir: string,
  history: readonly EpochRecord[],
  test: TestResults | null,
): Promise<void> {
  await writeFileAtomic(join(dir, 'history.csv'), historyToCsv(history));
  await writeFileAtomic(join(dir, 'metrics.json'), metricsToJson(history, test));
}
