/**
 * Reading and writing sentence files by extension: `.csv` is the reference trainer's CSV,
 * `.tsv` / `.conll` / `.txt` are CoNLL. The one place that picks a reader or writer.
 */
import { createWriteStream } from 'node:fs';
import { extname } from 'node:path';
import { withAtomicFile } from '@ner-launch/common';
import { formatConllSentence } from './conll-writer.js';
import { readConllSentences } from './conll-reader.js';
import { CSV_HEADER, formatCsvRecord } from './csv-writer.js';
import { readCsvSentences, type ReadOptions } from './csv-reader.js';
import { asDataError, DataError } from './data-error.js';
import { SummaryCounter, type DatasetSummary } from './dataset-summary.js';
import type { Sentence } from './sentence.js';

/** The two on-disk sentence formats. */
export type SentenceFormat = 'csv' | 'conll';

/** Format names accepted by `--format`. */
export const SENTENCE_FORMATS: readonly SentenceFormat[] = ['csv', 'conll'];

const CONLL_EXTENSIONS = ['.tsv', '.conll', '.txt'];

/** The format a path's extension implies; throws naming the file for anything else. */
export function formatOf(file: string): SentenceFormat {
  const ext = extname(file).toLowerCase();
  if (ext === '.csv') return 'csv';
  if (CONLL_EXTENSIONS.includes(ext)) return 'conll';
  throw new DataError(
    file,
    0,
    `unknown data file extension ${JSON.stringify(ext)} (expected .csv, or ${CONLL_EXTENSIONS.join(' / ')} for CoNLL)`,
  );
}

/** File extension written for a format. */
export function extensionOf(format: SentenceFormat): string {
  return format === 'csv' ? '.csv' : '.tsv';
}

/** Streams the sentences of a CSV or CoNLL file (format from the extension unless given). */
export function readSentences(
  file: string,
  options: ReadOptions & { format?: SentenceFormat } = {},
): AsyncGenerator<Sentence> {
  const format = options.format ?? formatOf(file);
  return format === 'csv' ? readCsvSentences(file, options) : readConllSentences(file, options);
}

/** A whole file in memory with its summary (and, in collect mode, every error). */
export interface LoadedDataset {
  file: string;
  sentences: Sentence[];
  summary: DatasetSummary;
  errors: DataError[];
}

/**
 * Reads a whole file. With `collectErrors`, bad sentences and file-level problems are returned
 * in `errors` instead of thrown, so a validator can list them all.
 */
export async function readDataset(
  file: string,
  options: { collectErrors?: boolean; format?: SentenceFormat } = {},
): Promise<LoadedDataset> {
  const errors: DataError[] = [];
  const sentences: Sentence[] = [];
  const counter = new SummaryCounter();
  const onError = options.collectErrors ? (e: DataError) => errors.push(e) : undefined;
  try {
    for await (const sentence of readSentences(file, { onError, format: options.format })) {
      sentences.push(sentence);
      counter.add(sentence);
    }
  } catch (error) {
    if (!(options.collectErrors && error instanceof DataError)) throw asDataError(error, file);
    errors.push(error);
  }
  return { file, sentences, summary: counter.summary(), errors };
}

/** Streams a file through SummaryCounter without keeping sentences (bounded memory). */
export async function summarizeFile(file: string): Promise<DatasetSummary> {
  const counter = new SummaryCounter();
  try {
    for await (const sentence of readSentences(file)) counter.add(sentence);
  } catch (error) {
    throw asDataError(error, file);
  }
  return counter.summary();
}

/**
 * Writes sentences to `file` atomically (temp file + rename) in the format its extension
 * implies, streaming with backpressure. Returns the number of sentences written.
 */
export async function writeSentences(
  file: string,
  sentences: AsyncIterable<Sentence> | Iterable<Sentence>,
  format: SentenceFormat = formatOf(file),
): Promise<number> {
  return withAtomicFile(file, async (tmp) => {
    const out = createWriteStream(tmp);
    const failed = new Promise<never>((_, reject) => out.once('error', reject));
    failed.catch(() => undefined);
    let count = 0;
    let buffer = format === 'csv' ? CSV_HEADER : '';
    const drain = async (): Promise<void> => {
      if (!out.write(buffer))
        await Promise.race([
          new Promise((resolve) => out.once('drain', () => resolve(undefined))),
          failed,
        ]);
      buffer = '';
    };
    try {
      for await (const sentence of sentences) {
        buffer += format === 'csv' ? formatCsvRecord(sentence) : formatConllSentence(sentence);
        count++;
        if (buffer.length >= 1 << 16) await drain();
      }
      if (buffer.length > 0) await drain();
      await Promise.race([new Promise<void>((resolve) => out.end(() => resolve())), failed]);
    } catch (error) {
      out.destroy();
      throw error;
    }
    return count;
  });
}
