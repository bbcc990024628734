/**
 * Where a worker's stdout and stderr go: to the launcher's console with a `[rank N] ` prefix
 * on every line, and/or to per-rank files under --log_dir; the stderr tail is kept for the
 * failure summary.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { makeDirectoriesSync } from '@ner-launch/common';

/** How much stderr is kept per rank for the failure summary. */
const TAIL_LINES = 30;
const TAIL_LINE_CHARS = 500;

/** Console streams of the launcher (injectable for tests). */
export interface ConsoleStreams {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

/** Output routing settings of one attempt. */
export interface OutputOptions {
  console: ConsoleStreams;
  logDir?: string;
  /** With logDir: 1 stdout, 2 stderr, 3 both also on the console. */
  tee: 0 | 1 | 2 | 3;
  attempt: number;
  /** Prefix console lines with `[rank N] ` (off for a single worker, whose output passes through as is). */
  prefix: boolean;
  /** Error lines already on the console, shared by the ranks of an attempt (ErrorLines). */
  errorLines?: ErrorLines;
}

/** A worker's one-line error report (main.ts's handler writes it). */
const ERROR_LINE = /^ner-launch(?: [a-z]+)?: error: /;

/**
 * The one-line errors (`ner-launch ...: error: ...`) the ranks of an attempt printed. A line
 * another rank already printed is held back: when the attempt ends on a usage error (a bad
 * record every rank reads) it is dropped, so the error shows once; otherwise the launcher
 * prints the held lines before its failure summary.
 */
export class ErrorLines {
  private readonly shown = new Set<string>();
  /** Console lines (rank prefix included) held back. */
  readonly held: string[] = [];

  /** Whether `line` (without prefix) repeats a shown error; if so `consoleLine` is held. */
  hold(line: string, consoleLine: string): boolean {
    if (!ERROR_LINE.test(line)) return false;
    if (!this.shown.has(line)) {
      this.shown.add(line);
      return false;
    }
    this.held.push(consoleLine);
    return true;
  }
}

/** Splits a byte stream into lines and writes each one prefixed. */
class LinePrefixer {
  private pending = '';
  constructor(
    private readonly prefix: string,
    private readonly sink: (line: string) => void,
    /** Lines to leave out (given the line and the prefixed line). */
    private readonly skip: (line: string, prefixed: string) => boolean = () => false,
  ) {}

  push(chunk: string): void {
    const text = this.pending + chunk;
    const lines = text.split('\n');
    this.pending = lines.pop() ?? '';
    for (const line of lines) this.write(line);
  }

  flush(): void {
    if (this.pending !== '') this.write(this.pending);
    this.pending = '';
  }

  private write(line: string): void {
    const prefixed = `${this.prefix}${line}\n`;
    if (!this.skip(line, prefixed)) this.sink(prefixed);
  }
}

/** The output handling of one worker process. */
export class RankOutput {
  private readonly tail: string[] = [];
  private tailPending = '';
  private readonly consoleOut?: LinePrefixer;
  private readonly consoleErr?: LinePrefixer;
  private readonly files: WriteStream[] = [];
  private readonly fileOut?: WriteStream;
  private readonly fileErr?: WriteStream;

  constructor(
    readonly rank: number,
    options: OutputOptions,
  ) {
    const prefix = options.prefix ? `[rank ${rank}] ` : '';
    const toConsoleOut = options.logDir === undefined || (options.tee & 1) !== 0;
    const toConsoleErr = options.logDir === undefined || (options.tee & 2) !== 0;
    if (toConsoleOut)
      this.consoleOut = new LinePrefixer(prefix, (l) => options.console.stdout.write(l));
    const errors = options.errorLines;
    if (toConsoleErr)
      this.consoleErr = new LinePrefixer(
        prefix,
        (l) => options.console.stderr.write(l),
        (line, prefixed) => (errors === undefined ? false : errors.hold(line, prefixed)),
      );
    if (options.logDir !== undefined) {
      const dir = join(options.logDir, `attempt_${options.attempt}`, `rank_${rank}`);
      makeDirectoriesSync(dir);
      // Logs are appended while the worker runs (tail -f, and kept when the launcher is
      // killed), so they are plain streams rather than atomic whole-file writes.
      this.fileOut = createWriteStream(join(dir, 'stdout.log'));
      this.fileErr = createWriteStream(join(dir, 'stderr.log'));
      this.files.push(this.fileOut, this.fileErr);
    }
  }

  /** Takes a chunk of the worker's stdout. */
  stdout(chunk: Buffer | string): void {
    const text = chunk.toString();
    this.consoleOut?.push(text);
    this.fileOut?.write(text);
  }

  /** Takes a chunk of the worker's stderr. */
  stderr(chunk: Buffer | string): void {
    const text = chunk.toString();
    this.consoleErr?.push(text);
    this.fileErr?.write(text);
    const lines = (this.tailPending + text).split('\n');
    this.tailPending = lines.pop() ?? '';
    for (const line of lines) this.keep(line);
  }

  /** Adds a line the launcher itself attributes to this worker (e.g. a spawn error). */
  note(line: string): void {
    this.keep(line);
    this.consoleErr?.push(`${line}\n`);
  }

  private keep(line: string): void {
    this.tail.push(line.length > TAIL_LINE_CHARS ? `${line.slice(0, TAIL_LINE_CHARS)}…` : line);
    if (this.tail.length > TAIL_LINES) this.tail.shift();
  }

  /** The last lines of stderr. */
  stderrTail(): string[] {
    return this.tailPending === '' ? [...this.tail] : [...this.tail, this.tailPending];
  }

  /** Flushes partial lines and closes the log files. */
  async close(): Promise<void> {
    this.consoleOut?.flush();
    this.consoleErr?.flush();
    await Promise.all(
      this.files.map((f) => new Promise<void>((resolve) => f.end(() => resolve()))),
    );
  }
}
