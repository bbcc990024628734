/**
 * `steps.jsonl` in save_model_path: one line per optimizer step, `{step, epoch, loss, lr}`,
 * where loss is the step's global mean token loss (over all ranks). It is what the parity
 * tooling (tools/parity/compare-runs.ts) compares with the Python reference step by step.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '@ner-launch/common';

/** One optimizer step of the log. */
export interface StepRecord {
  /** 1-based global optimizer step. */
  step: number;
  /** 1-based epoch. */
  epoch: number;
  loss: number;
  /** Learning rate of the first parameter group in that step. */
  lr: number;
}

/** File name of the step log inside save_model_path. */
export const STEP_LOG_FILE = 'steps.jsonl';

/**
 * Rewrites the log with `records` (one epoch's steps) replacing any earlier records from
 * their first step on, so a resumed epoch or a rerun into the same folder never duplicates
 * steps. Written atomically, like metrics.json.
 */
export async function updateStepLog(dir: string, records: readonly StepRecord[]): Promise<void> {
  if (records.length === 0) return;
  const path = join(dir, STEP_LOG_FILE);
  const first = records[0]!.step;
  let kept: string[] = [];
  try {
    kept = (await readFile(path, 'utf8'))
      .split('\n')
      .filter((line) => line.trim() !== '')
      .filter((line) => (JSON.parse(line) as StepRecord).step < first);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const lines = [...kept, ...records.map((r) => JSON.stringify(r))];
  await writeFileAtomic(path, `${lines.join('\n')}\n`);
}
