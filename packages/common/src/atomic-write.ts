/**
 * Crash-safe output: everything ner-launch writes (converted data, checkpoints, metrics) goes
 * to a temporary sibling first, is fsynced, then renamed into place, so a reader never sees a
 * half-written file or directory.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync } from 'node:fs';
import { mkdir, open, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { makeDirectories } from './make-directories.js';

function temporarySibling(path: string): string {
  return join(
    dirname(path),
    `.${basename(path)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`,
  );
}

function fsyncDirectory(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Some filesystems refuse fsync on directories; the rename is still atomic there.
  }
}

/**
 * Creates a temp file beside `path`, lets `fill` stream into it, then fsyncs and renames it.
 * For outputs too large to hold in memory (converted corpora, predictions).
 */
export async function withAtomicFile<T>(
  path: string,
  fill: (tmpPath: string) => Promise<T>,
): Promise<T> {
  await makeDirectories(dirname(path));
  const tmp = temporarySibling(path);
  try {
    const result = await fill(tmp);
    const handle = await open(tmp, 'r+');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, path);
    fsyncDirectory(dirname(path));
    return result;
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
}

/** Writes `data` to `path` atomically (temp file, fsync, rename). */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  await withAtomicFile(path, (tmp) => writeFile(tmp, data));
}

/**
 * Builds a directory atomically: `fill` writes into a temp directory, which then replaces
 * `dir` (an existing `dir` is moved aside first and removed only after the rename succeeded).
 */
export async function writeDirectoryAtomic(
  dir: string,
  fill: (tmpDir: string) => Promise<void>,
): Promise<void> {
  await makeDirectories(dirname(dir));
  const tmp = temporarySibling(dir);
  await mkdir(tmp);
  try {
    await fill(tmp);
    fsyncDirectory(tmp);
    const old = temporarySibling(dir);
    let movedOld = false;
    try {
      await rename(dir, old);
      movedOld = true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    await rename(tmp, dir);
    fsyncDirectory(dirname(dir));
    if (movedOld) await rm(old, { recursive: true, force: true });
  } catch (error) {
    await rm(tmp, { recursive: true, force: true });
    throw error;
  }
}
