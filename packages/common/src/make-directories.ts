/**
 * `mkdir -p`, one level at a time. Node's `mkdir(path, { recursive: true })` (and its sync
 * form) never returns for some paths it cannot create, e.g. under /proc (seen on Node 20), so a
 * mistyped output path would hang the program instead of failing with one line.
 */
import { mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

const code = (error: unknown): string | undefined => (error as NodeJS.ErrnoException).code;

/** Creates `path` and its missing parents; an existing folder is fine. */
export function makeDirectoriesSync(path: string): void {
  const missing: string[] = [];
  for (let current = resolve(path); ;) {
    try {
      statSync(current);
      break;
    } catch (error) {
      if (code(error) !== 'ENOENT') throw error;
      missing.push(current);
      const parent = dirname(current);
      if (parent === current) break;
      current = parent;
    }
  }
  for (const dir of missing.reverse()) {
    try {
      mkdirSync(dir);
    } catch (error) {
      // Another process (a second worker) may have created it meanwhile.
      if (code(error) !== 'EEXIST') throw error;
    }
  }
}

/**
 * `makeDirectoriesSync` for async callers (a failure rejects): a few stat and mkdir calls, each
 * quick, so they run synchronously rather than through the thread pool twice per level.
 */
export function makeDirectories(path: string): Promise<void> {
  try {
    makeDirectoriesSync(path);
    return Promise.resolve();
  } catch (error) {
    return Promise.reject(error as Error);
  }
}
