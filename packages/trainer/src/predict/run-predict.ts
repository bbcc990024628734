/**
 * `ner-launch predict`: reads CSV/CoNLL sentences or plain text, tags them with a trained
 * checkpoint and writes CSV/CoNLL in the input's format (tags replaced by predictions) or, for
 * text, one JSON line per input line with the entity spans. Output goes through an atomic
 * write, or to stdout when no output file is given.
 */
import { log, withAtomicFile } from '@ner-launch/common';
import { constants, createWriteStream } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { initBackend, type BackendName } from '../backend.js';
import { formatConllSentence } from '../data/conll-writer.js';
import { CSV_HEADER, formatCsvRecord } from '../data/csv-writer.js';
import { asDataError, DataError } from '../data/data-error.js';
import { formatOf, readSentences, type SentenceFormat } from '../data/dataset.js';
import type { Sentence } from '../data/sentence.js';
import { BatchPlanner } from '../memory/batch-planner.js';
import { loadPretrained } from '../model/weights/checkpoint-dir.js';
import { createProgress } from '../train/progress.js';
import { predictedText } from './entity-lines.js';
import { checkTrained, Predictor, type PredictResult } from './predictor.js';
import { readTextLines } from './text-input.js';
import { splitTextWords } from './text-words.js';

/** Input formats of `predict`: the sentence files, or one sentence of plain text per line. */
export type PredictFormat = SentenceFormat | 'text';

/** Input format names for `--format`. */
export const PREDICT_FORMATS: readonly PredictFormat[] = ['csv', 'conll', 'text'];

/** Options of `runPredict` (the CLI flags). */
export interface RunPredictOptions {
  model: string;
  input: string;
  /** Default: from the input's extension (.csv, or .tsv/.conll/.txt as CoNLL). */
  format?: PredictFormat;
  /** Output file; undefined writes to `stdout`. */
  output?: string;
  batchSize: number;
  maxLen: number;
  /** tfjs backend (default auto). */
  backend?: BackendName;
  /** Tensor memory the memory plan may use, in MiB (default: the backend's limit). */
  memoryLimitMb?: number;
  /** Show progress (default: when stderr is a terminal). */
  progress?: boolean;
  /** Where output goes without --output (tests). Default process.stdout. */
  stdout?: NodeJS.WritableStream;
}

/** What a prediction run did. */
export type PredictSummary = PredictResult['summary'] & { format: PredictFormat; backend: string };

/**
 * Inputs are predicted in chunks of at most this many sentences and characters, so memory
 * stays bounded whatever the input size (length buckets form within a chunk).
 */
const CHUNK_SENTENCES = 4096;
const CHUNK_CHARS = 2 ** 22;

/** One input item: a sentence of a CSV/CoNLL file, or a line of text with its words. */
type Item = { kind: 'sentence'; sentence: Sentence } | { kind: 'text'; line: string };

async function* inputItems(
  options: RunPredictOptions,
  format: PredictFormat,
): AsyncGenerator<Item> {
  if (format === 'text') {
    for await (const line of readTextLines(options.input)) yield { kind: 'text', line };
    return;
  }
  try {
    for await (const sentence of readSentences(options.input, { format }))
      yield { kind: 'sentence', sentence };
  } catch (error) {
    const dataError = asDataError(error, options.input);
    // .txt means CoNLL to the data tools; a user with plain sentences needs the hint.
    if (
      dataError instanceof DataError &&
      options.format === undefined &&
      /\.txt$/i.test(options.input) &&
      dataError.line > 0
    )
      throw new DataError(
        dataError.file,
        dataError.line,
        `${dataError.detail} (read as CoNLL from the .txt extension; for plain text, one sentence per line, pass --format text)`,
        dataError.record,
      );
    throw dataError;
  }
}

/** Groups items into chunks of at most CHUNK_SENTENCES items and about CHUNK_CHARS characters. */
async function* chunks(items: AsyncIterable<Item>): AsyncGenerator<Item[]> {
  let chunk: Item[] = [];
  let chars = 0;
  for await (const item of items) {
    chunk.push(item);
    chars += item.kind === 'text' ? item.line.length : item.sentence.tokens.join('').length;
    if (chunk.length >= CHUNK_SENTENCES || chars >= CHUNK_CHARS) {
      yield chunk;
      chunk = [];
      chars = 0;
    }
  }
  if (chunk.length > 0) yield chunk;
}

/**
 * Refuses an --output that cannot be written, before any work: a directory, or a file in a
 * folder this process may not write (the temp file beside it would fail only at the end).
 */
async function checkOutput(output: string): Promise<void> {
  const info = await stat(output).catch(() => undefined);
  if (info?.isDirectory())
    throw new DataError(output, 0, '--output is a directory; give a file path');
  const folder = dirname(resolve(output));
  const existing = await nearestExisting(folder);
  try {
    await access(existing, constants.W_OK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw new DataError(
      output,
      0,
      `cannot write --output: folder ${existing} is not writable (${code})`,
    );
  }
}

async function nearestExisting(dir: string): Promise<string> {
  for (let at = dir; ; at = dirname(at)) {
    if (
      await stat(at).then(
        () => true,
        () => false,
      )
    )
      return at;
    if (dirname(at) === at) return at;
  }
}

/** Opens the output (stdout, or an atomic file) and streams chunks of text into it. */
async function withOutput(
  output: string | undefined,
  stdout: NodeJS.WritableStream,
  body: (write: (text: string) => Promise<void>) => Promise<void>,
): Promise<void> {
  const writer =
    (stream: NodeJS.WritableStream, failed?: Promise<never>) =>
    async (text: string): Promise<void> => {
      if (stream.write(text)) return;
      const drained = new Promise((resolve) => stream.once('drain', resolve));
      await (failed ? Promise.race([drained, failed]) : drained);
    };
  if (output === undefined) {
    await body(writer(stdout));
    return;
  }
  await withAtomicFile(output, async (tmp) => {
    const stream = createWriteStream(tmp);
    const failed = new Promise<never>((_, reject) => stream.once('error', reject));
    failed.catch(() => undefined);
    await Promise.race([body(writer(stream, failed)), failed]);
    await Promise.race([new Promise<void>((resolve) => stream.end(() => resolve())), failed]);
  });
}

/** Loads the model, predicts every sentence of the input and writes the result, streaming. */
export async function runPredict(options: RunPredictOptions): Promise<PredictSummary> {
  const format = options.format ?? formatOf(options.input);
  if (options.output !== undefined) await checkOutput(options.output);
  // Read the input through before the (slow) model load, so a bad file fails fast; it is
  // read again, chunk by chunk, to predict (holding it whole would not bound memory).
  // A pipe (--input /dev/stdin) can be read only once: it is predicted as it comes.
  const regularFile = (await stat(options.input).catch(() => undefined))?.isFile() ?? true;
  let count = 0;
  if (regularFile) for await (const _ of inputItems(options, format)) count++;

  // The checkpoint too (no tfjs needed), so a wrong --model fails before the backend starts.
  const checkpoint = checkTrained(await loadPretrained(options.model));
  const backend = await initBackend(options.backend ?? 'auto');
  const predictor = Predictor.fromCheckpoint(checkpoint);
  const chineseChars = predictor.tokenizer.files.tokenizeChineseChars;
  try {
    const maxLen = Math.min(options.maxLen, predictor.maxPositions);
    if (maxLen < options.maxLen)
      log.warn(
        `--max_len ${options.maxLen} exceeds the model's max_position_embeddings; using ${maxLen}`,
      );
    const planner = new BatchPlanner({
      config: predictor.model.config,
      backend,
      localWorldSize: 1,
      limitBytes: options.memoryLimitMb === undefined ? undefined : options.memoryLimitMb * 2 ** 20,
    });
    // Windows are at most max_len long: plan that batch before reading a sentence through.
    for (const line of planner.planUpFront([
      { mode: 'eval', batchSize: options.batchSize, longest: maxLen },
    ]))
      log.info(line);
    const s: PredictResult['summary'] = {
      sentences: 0,
      words: 0,
      windows: 0,
      splitSentences: 0,
      cutWords: 0,
      emptyWords: 0,
      batches: 0,
      paddedTokens: 0,
      realTokens: 0,
    };
    const progress = options.progress ?? process.stderr.isTTY === true;
    await withOutput(options.output, options.stdout ?? process.stdout, async (write) => {
      if (format === 'csv') await write(CSV_HEADER);
      for await (const chunk of chunks(inputItems(options, format))) {
        const splits = chunk.map((item) =>
          item.kind === 'text' ? splitTextWords(item.line, chineseChars) : undefined,
        );
        const words = chunk.map((item, i) =>
          item.kind === 'text' ? splits[i]!.words : item.sentence.tokens,
        );
        // Created at the chunk's first batch, when its batch count is known.
        let bar: ReturnType<typeof createProgress> | undefined;
        const result = predictor.predict(words, {
          batchSize: options.batchSize,
          maxLength: maxLen,
          planner,
          onBatch: (done, total) => {
            bar ??= createProgress({
              label:
                count > chunk.length
                  ? `Predicting sentences ${s.sentences + 1}..${s.sentences + chunk.length} of ${count}`
                  : 'Predicting',
              total,
              enabled: progress,
            });
            bar.update(done);
          },
        });
        bar?.stop();
        for (const key of Object.keys(s) as (keyof typeof s)[]) s[key] += result.summary[key];
        const text = chunk.map((item, i) =>
          item.kind === 'text'
            ? `${JSON.stringify(predictedText(item.line, splits[i]!, result.tags[i]!))}\n`
            : format === 'csv'
              ? formatCsvRecord({ ...item.sentence, tags: result.tags[i]! })
              : formatConllSentence({ ...item.sentence, tags: result.tags[i]! }),
        );
        await write(text.join(''));
      }
    });
    if (s.splitSentences > 0)
      log.warn(
        `${s.splitSentences} sentence(s) of ${options.input} are longer than max_len ${maxLen} tokens; their words were predicted in further windows (${s.windows - s.sentences} extra)`,
      );
    if (s.cutWords > 0)
      log.warn(
        `${s.cutWords} word(s) of ${options.input} have more than ${maxLen - 2} word pieces; each is tagged from its first piece`,
      );
    if (s.emptyWords > 0)
      log.warn(
        `${s.emptyWords} word(s) of ${options.input} give no token (only control or zero-width characters) and were tagged O`,
      );
    log.info(
      `predicted ${s.sentences} sentences, ${s.words} words in ${s.batches} batches (${s.realTokens} tokens, ${s.paddedTokens - s.realTokens} padding) on ${backend}`,
    );
    return { ...s, format, backend };
  } finally {
    predictor.dispose();
  }
}
