/**
 * Streams a file as text, rejecting invalid UTF-8 with the line where it occurs (a lenient
 * decoder would silently turn bad bytes into U+FFFD and corrupt tokens).
 */
import { createReadStream } from 'node:fs';
import { DataError } from './data-error.js';

/**
 * Longest line (CoNLL, plain text) or CSV record a reader accepts, in characters: a sentence
 * is a few hundred; past this an input is broken or hostile (a 200 MB token, /dev/zero) and
 * would otherwise be held, and tokenized, whole.
 */
export const MAX_RECORD_CHARS = 2 ** 20;

/** Length of the UTF-8 sequence a lead byte starts (0 for a continuation or invalid byte). */
function sequenceLength(byte: number): number {
  if (byte < 0x80) return 1;
  if (byte >= 0xc2 && byte <= 0xdf) return 2;
  if (byte >= 0xe0 && byte <= 0xef) return 3;
  if (byte >= 0xf0 && byte <= 0xf4) return 4;
  return 0;
}

/** Bytes at the end of `buf` that start a multi-byte sequence not finished in `buf`. */
function incompleteTail(buf: Uint8Array): number {
  for (let back = 1; back <= Math.min(3, buf.length); back++) {
    const byte = buf[buf.length - back] ?? 0;
    if ((byte & 0xc0) === 0x80) continue;
    const need = sequenceLength(byte);
    return need > back ? back : 0;
  }
  return 0;
}

/** Index of the first invalid UTF-8 byte in `buf` (only called once the fast decoder failed). */
function firstInvalidByte(buf: Uint8Array): number {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let i = 0;
  while (i < buf.length) {
    const need = sequenceLength(buf[i] ?? 0);
    if (need === 0) return i;
    try {
      decoder.decode(buf.subarray(i, i + need));
    } catch {
      return i;
    }
    i += need;
  }
  return buf.length;
}

function countNewlines(buf: Uint8Array, end: number): number {
  let n = 0;
  let at = buf.indexOf(0x0a);
  while (at >= 0 && at < end) {
    n++;
    at = buf.indexOf(0x0a, at + 1);
  }
  return n;
}

/** Yields the decoded text of `file` chunk by chunk; a leading BOM is kept (callers strip it). */
export async function* readUtf8Chunks(file: string): AsyncGenerator<string> {
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  let carry: Uint8Array = new Uint8Array(0);
  let linesBefore = 0;
  const invalid = (buf: Uint8Array, at: number): DataError => {
    const line = linesBefore + countNewlines(buf, at) + 1;
    const byte = (buf[at] ?? 0).toString(16).padStart(2, '0');
    return new DataError(file, line, `invalid UTF-8 (byte 0x${byte})`);
  };
  for await (const chunk of createReadStream(file)) {
    const bytes = chunk as Buffer;
    const buf = carry.length > 0 ? Buffer.concat([carry, bytes]) : bytes;
    const keep = incompleteTail(buf);
    const complete = buf.subarray(0, buf.length - keep);
    let text: string;
    try {
      text = decoder.decode(complete);
    } catch {
      throw invalid(complete, firstInvalidByte(complete));
    }
    linesBefore += countNewlines(complete, complete.length);
    carry = keep > 0 ? Uint8Array.from(buf.subarray(buf.length - keep)) : new Uint8Array(0);
    yield text;
  }
  if (carry.length > 0) throw invalid(carry, 0);
}

/**
 * Yields the lines of `file` without their `\n` (a final newline ends the last line; a
 * leading BOM is dropped), holding at most one line: a line past MAX_RECORD_CHARS is an
 * error naming the file and line.
 */
export async function* readLines(file: string): AsyncGenerator<string> {
  let pending = '';
  let first = true;
  let lineNo = 0;
  const tooLong = (): DataError =>
    new DataError(
      file,
      lineNo + 1,
      `line is longer than the maximum of ${MAX_RECORD_CHARS} characters (a sentence is far shorter: is this the right file?)`,
    );
  for await (let text of readUtf8Chunks(file)) {
    if (first && text.length > 0) {
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      first = false;
    }
    pending += text;
    let start = 0;
    let nl = pending.indexOf('\n');
    while (nl >= 0) {
      if (nl - start > MAX_RECORD_CHARS) throw tooLong();
      yield pending.slice(start, nl);
      lineNo++;
      start = nl + 1;
      nl = pending.indexOf('\n', start);
    }
    pending = pending.slice(start);
    if (pending.length > MAX_RECORD_CHARS) throw tooLong();
  }
  if (pending.length > 0) yield pending;
}
