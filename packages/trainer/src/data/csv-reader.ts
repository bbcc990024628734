/**
 * Reads the reference trainer's CSV: a header naming `tokens` and `tags` (any order, other
 * columns ignored), each cell a Python list literal as pandas writes it. Streams record by
 * record, so file size does not bound memory.
 */
import { Readable, pipeline } from 'node:stream';
import { parse, type InfoRecord, type Options } from 'csv-parse';
import { asDataError, DataError, type DataErrorSink } from './data-error.js';
import { LiteralSyntaxError, parseStrList } from './python-literal.js';
import { sentenceProblem } from './sentence-check.js';
import type { Sentence } from './sentence.js';
import { MAX_RECORD_CHARS, readUtf8Chunks } from './utf8-text.js';

/** Options shared by the readers. */
export interface ReadOptions {
  /** Collect-all mode: bad sentences go here and are skipped; without it the first error throws. */
  onError?: DataErrorSink;
}

interface CsvInfo {
  lines: number;
  empty_lines: number;
}

async function* csvRecords(file: string): AsyncGenerator<{ record: string[]; info: CsvInfo }> {
  // on_record picks the two counters we need; `info: true` would clone the whole context per
  // record, which makes parsing about twice as slow.
  const options: Options = {
    bom: true,
    skip_empty_lines: true,
    max_record_size: MAX_RECORD_CHARS,
    relax_column_count: true,
    // Typed as returning string[] by csv-parse; the stream yields whatever it returns.
    on_record: ((record: string[], context: InfoRecord) => ({
      record,
      info: { lines: context.lines, empty_lines: context.empty_lines },
    })) as unknown as Options['on_record'],
  };
  const parser = parse(options);
  // pipeline() carries backpressure both ways and turns a decoding error (invalid UTF-8)
  // into the parser's error, which the iterator below rethrows.
  pipeline(Readable.from(readUtf8Chunks(file)), parser, () => undefined);
  try {
    for await (const item of parser as AsyncIterable<{ record: string[]; info: CsvInfo }>)
      yield item;
  } catch (error) {
    if (error instanceof DataError) throw error;
    if (
      (error as NodeJS.ErrnoException).code !== undefined &&
      (error as NodeJS.ErrnoException).syscall
    )
      throw asDataError(error, file);
    const e = error as Error & { lines?: number; code?: string };
    if (e.code === 'CSV_MAX_RECORD_SIZE')
      throw new DataError(
        file,
        e.lines ?? 0,
        `record is longer than the maximum of ${MAX_RECORD_CHARS} characters (a sentence is far shorter: is this the right file?)`,
      );
    throw new DataError(file, e.lines ?? 0, `CSV syntax error: ${e.message}`);
  } finally {
    parser.destroy();
  }
}

/** Yields the sentences of a reference-format CSV file. */
export async function* readCsvSentences(
  file: string,
  options: ReadOptions = {},
): AsyncGenerator<Sentence> {
  let tokensColumn = -1;
  let tagsColumn = -1;
  let sawHeader = false;
  let previousEnd = 0;
  let previousEmpty = 0;
  let record = 0;
  for await (const { record: row, info } of csvRecords(file)) {
    const line = previousEnd + 1 + (info.empty_lines - previousEmpty);
    previousEnd = info.lines;
    previousEmpty = info.empty_lines;
    if (!sawHeader) {
      sawHeader = true;
      tokensColumn = row.indexOf('tokens');
      tagsColumn = row.indexOf('tags');
      const missing = ['tokens', 'tags'].filter((name) => !row.includes(name));
      if (missing.length > 0)
        throw new DataError(
          file,
          line,
          `header lacks column${missing.length > 1 ? 's' : ''} ${missing.join(', ')} (found: ${row.join(', ')})`,
        );
      continue;
    }
    record++;
    const fail = (detail: string): DataError => new DataError(file, line, detail, record);
    const problem = ((): DataError | Sentence => {
      const tokensCell = row[tokensColumn];
      const tagsCell = row[tagsColumn];
      if (tokensCell === undefined || tagsCell === undefined)
        return fail(
          `has ${row.length} fields; the header has tokens in field ${tokensColumn + 1} and tags in field ${tagsColumn + 1}`,
        );
      let tokens: string[];
      let tags: string[];
      try {
        tokens = parseStrList(tokensCell);
      } catch (error) {
        return fail(`tokens cell is not a list of strings: ${literalMessage(error)}`);
      }
      try {
        tags = parseStrList(tagsCell);
      } catch (error) {
        return fail(`tags cell is not a list of strings: ${literalMessage(error)}`);
      }
      const issue = sentenceProblem(tokens, tags);
      if (issue) return fail(issue);
      return { tokens, tags, source: { file, line, record } };
    })();
    if (problem instanceof DataError) {
      if (!options.onError) throw problem;
      options.onError(problem);
      continue;
    }
    yield problem;
  }
  if (!sawHeader)
    throw new DataError(file, 0, 'empty file (expected a header with tokens and tags)');
}

function literalMessage(error: unknown): string {
  if (error instanceof LiteralSyntaxError) return error.message;
  throw error;
}
