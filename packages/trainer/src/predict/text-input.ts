/**
 * Reads a plain-text prediction input: one sentence per line, UTF-8, streamed (one line held
 * at a time, at most MAX_RECORD_CHARS). Every line is kept (a blank line becomes an empty
 * sentence) so output line N answers input line N; invalid UTF-8 or an overlong line is an
 * error naming the file and line.
 */
import { asDataError } from '../data/data-error.js';
import { readLines } from '../data/utf8-text.js';

/** The lines of `file` without their line breaks (a final newline ends the last line). */
export async function* readTextLines(file: string): AsyncGenerator<string> {
  try {
    for await (const line of readLines(file)) yield line.endsWith('\r') ? line.slice(0, -1) : line;
  } catch (error) {
    throw asDataError(error, file);
  }
}
