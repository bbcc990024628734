/**
 * `ner-launch predict --model DIR --input F [--format csv|conll|text] [--output G]`: tags
 * sentences with a trained model: CSV/CoNLL come back in the same format with predicted tags,
 * plain text (one sentence per line) as JSON lines with entity spans. The trainer (and tfjs)
 * is imported only when the command runs, so `ner-launch -h` stays fast.
 */
import { UsageError } from '@ner-launch/common';
import type { Argv, CommandModule } from 'yargs';
import type { PredictFormat } from '@ner-launch/trainer';
import { BACKEND_NAMES, type BackendName } from '@ner-launch/trainer/backend-names';

/** Options of `ner-launch predict`. */
export interface PredictArgs {
  model: string;
  input: string;
  format?: PredictFormat;
  output?: string;
  batch_size: number;
  max_len: number;
  backend: BackendName;
  memory_limit_mb?: number;
}

// Spelled out here rather than imported: the flag definitions must not load the trainer
// (test/cli.startup.test.ts keeps them equal to the trainer's lists).
/** `--format` choices (the trainer's PREDICT_FORMATS). */
export const PREDICT_FORMATS: readonly PredictFormat[] = ['csv', 'conll', 'text'];

/** Throws a UsageError naming the first numeric flag out of range. */
function checkFlags(args: PredictArgs): void {
  if (!Number.isInteger(args.batch_size) || args.batch_size < 1)
    throw new UsageError(`--batch_size must be a positive integer, got ${args.batch_size}`);
  if (!Number.isInteger(args.max_len) || args.max_len < 3)
    throw new UsageError(
      `--max_len must be an integer >= 3 (room for [CLS], [SEP] and a word piece), got ${args.max_len}`,
    );
  if (
    args.memory_limit_mb !== undefined &&
    !(Number.isFinite(args.memory_limit_mb) && args.memory_limit_mb > 0)
  )
    throw new UsageError(`--memory_limit_mb must be a number > 0, got ${args.memory_limit_mb}`);
}

/** The yargs module of `predict`. */
export const predictCommand: CommandModule<object, PredictArgs> = {
  command: 'predict',
  describe: 'Tag CSV/CoNLL sentences or plain text (one sentence per line) with a trained model',
  builder: (y: Argv) =>
    y
      .option('model', {
        type: 'string',
        demandOption: true,
        describe: 'Trained model directory (config.json with id2label, weights, vocab.txt)',
      })
      .option('input', { type: 'string', demandOption: true, describe: 'Input file' })
      .option('format', {
        choices: PREDICT_FORMATS,
        describe:
          'Input format (default: from the extension: .csv, or .tsv/.conll/.txt as CoNLL); text = one sentence per line, output as JSON lines with entity spans',
      })
      .option('output', {
        type: 'string',
        describe: 'Output file, written atomically (default: stdout); same format as the input',
      })
      .option('batch_size', {
        type: 'number',
        default: 32,
        alias: 'batch-size',
        describe: 'Sentences per forward pass (sorted by length to limit padding)',
      })
      .option('max_len', {
        type: 'number',
        default: 512,
        alias: 'max-len',
        describe:
          'Tokens per window including [CLS]/[SEP]; longer sentences are predicted in further windows',
      })
      .option('backend', {
        choices: BACKEND_NAMES,
        default: 'auto' as BackendName,
        describe:
          'tfjs backend (auto = tensorflow when set up with `ner-launch setup tensorflow`, else wasm)',
      })
      .option('memory_limit_mb', {
        type: 'number',
        alias: 'memory-limit-mb',
        describe:
          "Tensor memory the memory plan may use, in MiB; batches that would not fit run in slices (default: the backend's limit)",
      }) as unknown as Argv<PredictArgs>,
  handler: async (args) => {
    checkFlags(args);
    const { runPredict } = await import('@ner-launch/trainer');
    await runPredict({
      model: args.model,
      input: args.input,
      format: args.format,
      output: args.output,
      batchSize: args.batch_size,
      maxLen: args.max_len,
      backend: args.backend,
      memoryLimitMb: args.memory_limit_mb,
    });
  },
};
