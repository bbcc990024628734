/**
 * `ner-launch predict`: reads CSV/CoNLL sentences or plain text, tags them with a trained
 * checkpoint and writes CSV/CoNLL in the input's format (tags replaced by predictions) or, for
 * text, one JSON line per input line with the entity spans. Output goes through an atomic
 * write, or to stdout when no output file is given.
 */
import { log, withAtomicFile } from '@ner-launch/worker';
import { createWriteStream } from 'node:fs';
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

async function readInputSentences(file: string, format: SentenceFormat): Promise<Sentence[]> {
  const sentences: Sentence[] = [];
  try {
    for await (const sentence of readSentences(file, { format })) sentences.push(sentence);
  } catch (error) {
    throw asDataError(error, file);
  }
  return sentences;
}

async function writeOutput(
  text: Iterable<string>,
  output: string | undefined,
  stdout: NodeJS.WritableStream,
): Promise<void> {
  const write = async (stream: NodeJS.WritableStream): Promise<void> => {
    for (const chunk of text)
      if (!stream.write(chunk)) await new Promise((resolve) => stream.once('drain', resolve));
  };
  if (output === undefined) {
    await write(stdout);
    return;
  }
  await withAtomicFile(output, async (tmp) => {
    const stream = createWriteStream(tmp);
    const failed = new Promise<never>((_, reject) => stream.once('error', reject));
    failed.catch(() => undefined);
    await Promise.race([write(stream), failed]);
    await Promise.race([new Promise<void>((resolve) => stream.end(() => resolve())), failed]);
  });
}

/** Loads the model, predicts every sentence of the input and writes the result. */
export async function runPredict(options: RunPredictOptions): Promise<PredictSummary> {
  const format = options.format ?? formatOf(options.input);
  // Read the input before the (slow) model load, so a bad file fails fast.
  let sentences: Sentence[] = [];
  let lines: string[] = [];
  if (format === 'text') lines = await readTextLines(options.input);
  else {
    try {
      sentences = await readInputSentences(options.input, format);
    } catch (error) {
      // .txt means CoNLL to the data tools; a user with plain sentences needs the hint.
      if (
        error instanceof DataError &&
        options.format === undefined &&
        /\.txt$/i.test(options.input)
      )
        throw new DataError(
          error.file,
          error.line,
          `${error.detail} (read as CoNLL from the .txt extension; for plain text, one sentence per line, pass --format text)`,
          error.record,
        );
      throw error;
    }
  }

  // The checkpoint too (no tfjs needed), so a wrong --model fails before the backend starts.
  const checkpoint = checkTrained(await loadPretrained(options.model));
  const backend = await initBackend(options.backend ?? 'auto');
  const predictor = Predictor.fromCheckpoint(checkpoint);
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
    const splits =
      format === 'text'
        ? lines.map((line) => splitTextWords(line, predictor.tokenizer.files.tokenizeChineseChars))
        : [];
    const words = format === 'text' ? splits.map((s) => s.words) : sentences.map((s) => s.tokens);
    // Created at the first batch, when the batch count is known.
    let bar: ReturnType<typeof createProgress> | undefined;
    const result = predictor.predict(words, {
      batchSize: options.batchSize,
      maxLength: maxLen,
      planner,
      onBatch: (done, total) => {
        bar ??= createProgress({
          label: 'Predicting',
          total,
          enabled: options.progress ?? process.stderr.isTTY === true,
        });
        bar.update(done);
      },
    });
    bar?.stop();
    const s = result.summary;
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
    const stdout = options.stdout ?? process.stdout;
    if (format === 'text') {
      await writeOutput(
        lines.map(
          (line, i) => `${JSON.stringify(predictedText(line, splits[i]!, result.tags[i]!))}\n`,
        ),
        options.output,
        stdout,
      );
    } else {
      const tagged = sentences.map((sentence, i) => ({ ...sentence, tags: result.tags[i]! }));
      const body = format === 'csv' ? tagged.map(formatCsvRecord) : tagged.map(formatConllSentence);
      await writeOutput(format === 'csv' ? [CSV_HEADER, ...body] : body, options.output, stdout);
    }
    log.info(
      `predicted ${s.sentences} sentences, ${s.words} words in ${s.batches} batches (${s.realTokens} tokens, ${s.paddedTokens - s.realTokens} padding) on ${backend}`,
    );
    return { ...s, format, backend };
  } finally {
    predictor.dispose();
  }
}
