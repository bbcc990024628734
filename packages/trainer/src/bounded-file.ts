/**
 * Weight files read whole, within bounds: only regular files, at most a byte limit derived
 * from the config (a device, a FIFO or a file past the limit is refused before reading).
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { CheckpointError } from './checkpoint-error.js';

/**
 * Bounds a checkpoint must keep, from what the config describes: checked against the sizes
 * the file declares before anything of that size is allocated.
 */
export interface WeightLimits {
  /** Largest weight file, and largest total of its (inflated) storages, in bytes. */
  maxBytes: number;
  /** Largest element count of one tensor (the largest parameter the config describes). */
  maxTensorElements: number;
  /** Where the limits come from, for messages (e.g. "the model config.json describes"). */
  source: string;
}

/** Limits for reading without a config: 64 GiB and 2^32 elements, past which nothing is BERT. */
export const NO_WEIGHT_LIMITS: WeightLimits = {
  maxBytes: 64 * 2 ** 30,
  maxTensorElements: 2 ** 32,
  source: 'any BERT (no config given)',
};

/**
 * Reads a regular file of at most `maxBytes` whole; anything else (a directory, a device, a
 * FIFO, a file past the limit) is refused before reading, naming the file and the limit.
 */
export async function readBoundedFile(
  path: string,
  maxBytes: number,
  limitSource: string,
): Promise<Uint8Array> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    throw new CheckpointError(path, `cannot read weight file (${(error as Error).message})`, {
      cause: error,
    });
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw new CheckpointError(path, 'is not a regular file');
    if (stat.size > maxBytes)
      throw new CheckpointError(
        path,
        `has ${stat.size} bytes, more than the ${maxBytes} allowed for ${limitSource}`,
      );
    const bytes = new Uint8Array(stat.size);
    // One read call moves at most 2 GiB.
    let filled = 0;
    while (filled < bytes.length) {
      const { bytesRead } = await handle.read(
        bytes,
        filled,
        Math.min(2 ** 30, bytes.length - filled),
        filled,
      );
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return bytes.subarray(0, filled);
  } finally {
    await handle.close();
  }
}

/** Largest config or tokenizer file (config.json, vocab.txt, tokenizer.json, ...) read: 64 MiB. */
export const MAX_TEXT_FILE_BYTES = 64 * 2 ** 20;

/** The first `size` bytes of the open file `fd` (fewer if it shrank meanwhile). */
export function readOpenFileSync(fd: number, size: number): Buffer {
  const bytes = Buffer.alloc(size);
  let filled = 0;
  while (filled < bytes.length) {
    const n = readSync(fd, bytes, filled, bytes.length - filled, filled);
    if (n === 0) break;
    filled += n;
  }
  return bytes.subarray(0, filled);
}

/**
 * Reads a regular file of at most `maxBytes` (default MAX_TEXT_FILE_BYTES) whole and at once;
 * a directory, device, FIFO or larger file is refused naming the file (a vocab.txt linked to
 * /dev/zero would otherwise be read until memory runs out).
 */
export function readBoundedFileSync(path: string, maxBytes = MAX_TEXT_FILE_BYTES): Buffer {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new CheckpointError(
      path,
      code === 'ENOENT' ? 'file not found' : `cannot read (${(error as Error).message})`,
      { cause: error },
    );
  }
  try {
    const stat = fstatSync(fd);
    if (stat.isDirectory()) throw new CheckpointError(path, 'is a directory, expected a file');
    if (!stat.isFile()) throw new CheckpointError(path, 'is not a regular file');
    if (stat.size > maxBytes)
      throw new CheckpointError(
        path,
        `has ${stat.size} bytes, more than the ${maxBytes} a config or tokenizer file may have`,
      );
    return readOpenFileSync(fd, stat.size);
  } finally {
    closeSync(fd);
  }
}
