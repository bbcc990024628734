/**
 * Reads a plain-text prediction input: one sentence per line, UTF-8. Every line is kept (a
 * blank line becomes an empty sentence) so output line N answers input line N; invalid UTF-8
 * is an error naming the file and line.
 */
import { readFile } from 'node:fs/promises';
import { DataError } from '../data/data-error.js';

/** The lines of `file` without their line breaks (a final newline ends the last line). */
export async function readTextLines(file: string): Promise<string[]> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new DataError(
      file,
      0,
      code === 'ENOENT' ? 'file not found' : `cannot read (${(error as Error).message})`,
    );
  }
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });
  const lines: string[] = [];
  let start = 0;
  let lineNo = 0;
  while (start < bytes.length) {
    let end = bytes.indexOf(0x0a, start);
    if (end < 0) end = bytes.length;
    lineNo++;
    let line: string;
    try {
      line = decoder.decode(bytes.subarray(start, end));
    } catch {
      throw new DataError(file, lineNo, 'invalid UTF-8 (the text input must be UTF-8)');
    }
    if (lineNo === 1 && line.charCodeAt(0) === 0xfeff) line = line.slice(1);
    lines.push(line.endsWith('\r') ? line.slice(0, -1) : line);
    start = end + 1;
  }
  return lines;
}
