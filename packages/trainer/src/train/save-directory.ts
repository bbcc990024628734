/**
 * The save folder belongs to the user: a run writes into it only if it is empty or new, or a
 * run of ours made it (our marker file is there), or the user said so (--overwrite_output_dir,
 * HF's flag, or --resume_from_checkpoint into it). Otherwise same-named files (config.json,
 * vocab.txt, metrics.json, report.html, ...) would be silently replaced.
 */
import { existsSync } from 'node:fs';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { log, makeDirectories, UsageError } from '@ner-launch/common';

/** Written into every save folder a run uses, so a later run knows the folder is ours. */
export const OUTPUT_MARKER = '.ner-launch-output';

/** Entries that a write check of ours may leave for an instant (never the user's). */
const TRANSIENT = /^\.ner-launch-write-probe-\d+$/;

/**
 * Refuses `dir` when it holds files ner-launch did not write, unless `overwrite`; marks it as
 * ours otherwise. Runs on rank 0 before any output is written.
 */
export async function checkSaveDirectory(
  dir: string,
  options: { overwrite: boolean; resuming: boolean },
): Promise<void> {
  await makeDirectories(dir);
  const marker = join(dir, OUTPUT_MARKER);
  if (!existsSync(marker)) {
    const foreign = (await readdir(dir)).filter((name) => !TRANSIENT.test(name)).sort();
    if (foreign.length > 0 && !options.overwrite && !options.resuming) {
      const shown = foreign.slice(0, 5).join(', ') + (foreign.length > 5 ? ', ...' : '');
      throw new UsageError(
        `--save_model_path ${dir} already holds ${foreign.length} entr${foreign.length === 1 ? 'y' : 'ies'} ner-launch did not write (${shown}); choose an empty or new folder, or pass --overwrite_output_dir to write into it (same-named files are replaced)`,
        { flag: 'save_model_path' },
      );
    }
    if (foreign.length > 0 && options.overwrite)
      log.warn(
        `--overwrite_output_dir: writing into ${dir}, which holds files ner-launch did not write; same-named ones will be replaced`,
      );
  }
  await writeFile(
    marker,
    `${JSON.stringify({ written_by: 'ner-launch train', note: 'this folder holds ner-launch outputs' })}\n`,
  );
}
