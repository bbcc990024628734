/**
 * `ner-launch data <subcommand>`: dataset tools over the trainer's readers and writers.
 *   convert   CoNLL <-> reference CSV (byte-identical to pandas' to_csv)
 *   split     seeded train/val/test split
 *   count     sentences, tokens, tags and entities per class
 *   filter    map tags through a JSON mapping; unmapped tags become O
 *   validate  read a data directory exactly as the trainer will; list every error
 *   tokenize  (data-tokenize.ts) what the model is fed
 * A failure prints one line naming file and line and sets exit code 2 (see `guarded`);
 * validate prints all its errors itself and exits 1 when it found any.
 */
import { join } from 'node:path';
import { errorReport, UsageError } from '@ner-launch/common';
import type { Argv, CommandModule } from 'yargs';
import type {
  DataError,
  DatasetSummary,
  MappingCounts,
  Sentence,
  SentenceFormat,
  SplitName,
} from '@ner-launch/trainer';
import { dataTokenizeCommand } from './data-tokenize.js';

// The trainer (and tfjs with it) is imported inside the handlers, so that flag definitions and
// `-h` stay fast; these two lists are spelled out for the same reason (a test keeps them equal
// to the trainer's SENTENCE_FORMATS and SPLIT_NAMES).
/** Output formats of `data split` (the trainer's SENTENCE_FORMATS). */
export const DATA_FORMATS: readonly SentenceFormat[] = ['csv', 'conll'];
/** The split files (the trainer's SPLIT_NAMES). */
export const DATA_SPLITS: readonly SplitName[] = ['train', 'val', 'test'];

const trainer = () => import('@ner-launch/trainer');

/**
 * Runs a subcommand body, reporting a failure as main.ts does (one line naming file and line
 * for bad input, exit code 2) but on dataIo, so tests running the tree in-process see it.
 */
function guarded<A>(run: (args: A) => Promise<unknown>): (args: A) => Promise<void> {
  return async (args) => {
    try {
      await run(args);
    } catch (error) {
      const report = errorReport(error, 'ner-launch data');
      dataIo.err(report.text);
      process.exitCode = report.exitCode;
    }
  };
}

/** Where the data commands print (stdout: results, stderr: errors); tests swap these. */
export const dataIo = {
  out: (text: string): void => void process.stdout.write(text),
  err: (text: string): void => void process.stderr.write(text),
};

function out(text: string): void {
  dataIo.out(text);
}

/** Wraps a reader so file-system errors name the file like data errors do. */
async function* namingErrors(
  file: string,
  source: AsyncIterable<Sentence>,
): AsyncGenerator<Sentence> {
  try {
    yield* source;
  } catch (error) {
    throw (await trainer()).asDataError(error, file);
  }
}

/** Human-readable summary lines (also used by validate). */
export function formatSummary(summary: DatasetSummary, indent = ''): string {
  const lines = [
    `${indent}sentences: ${summary.sentences}`,
    `${indent}tokens: ${summary.tokens}`,
    `${indent}tags:`,
    ...Object.entries(summary.tags).map(([tag, n]) => `${indent}  ${tag.padEnd(12)} ${n}`),
    `${indent}entities:`,
    ...Object.entries(summary.entities).map(([type, n]) => `${indent}  ${type.padEnd(12)} ${n}`),
    `${indent}invalid IOB sequences (I- after O or another type): ${summary.invalidIobSequences}`,
  ];
  return `${lines.join('\n')}\n`;
}

// ---- convert --------------------------------------------------------------------------

interface ConvertArgs {
  input: string;
  output: string;
}

/** `data convert`: streams input to output; formats from the extensions. */
export async function runConvert(args: ConvertArgs): Promise<number> {
  const { readSentences, writeSentences } = await trainer();
  const n = await writeSentences(args.output, namingErrors(args.input, readSentences(args.input)));
  out(`converted ${n} sentences: ${args.input} -> ${args.output}\n`);
  return n;
}

const convertCommand: CommandModule<object, ConvertArgs> = {
  command: 'convert',
  describe: 'Convert between CoNLL (.tsv/.conll/.txt) and the reference CSV (.csv)',
  builder: (y) =>
    y
      .option('input', { type: 'string', demandOption: true, describe: 'Input file' })
      .option('output', { type: 'string', demandOption: true, describe: 'Output file' }),
  handler: guarded(runConvert),
};

// ---- split ----------------------------------------------------------------------------

interface SplitArgs {
  input: string;
  output_dir: string;
  train_ratio: number;
  val_ratio: number;
  seed: number;
  format: SentenceFormat;
}

/** `data split`: writes train/val/test files into the output directory. */
export async function runSplit(args: SplitArgs): Promise<Record<string, number>> {
  if (!Number.isInteger(args.seed))
    throw new UsageError(`--seed must be an integer, got ${args.seed}`);
  const { extensionOf, readDataset, splitDataset, writeSentences } = await trainer();
  const { sentences } = await readDataset(args.input);
  const parts = splitDataset(
    sentences,
    { train: args.train_ratio, val: args.val_ratio },
    args.seed,
  );
  const counts: Record<string, number> = {};
  for (const name of DATA_SPLITS) {
    const file = join(args.output_dir, `${name}${extensionOf(args.format)}`);
    counts[name] = await writeSentences(file, parts[name], args.format);
    if (counts[name] === 0) dataIo.err(`data split: warning: ${file} holds no sentences\n`);
  }
  out(
    `split ${sentences.length} sentences (seed ${args.seed}): ` +
      DATA_SPLITS.map((n) => `${n} ${counts[n]}`).join(', ') +
      ` -> ${args.output_dir}\n`,
  );
  return counts;
}

const splitCommand: CommandModule<object, SplitArgs> = {
  command: 'split',
  describe:
    'Shuffle (seeded Fisher-Yates, mulberry32) and split into train/val/test; test gets the rest',
  builder: (y) =>
    y
      .option('input', {
        type: 'string',
        demandOption: true,
        describe: 'Input file (.csv or CoNLL)',
      })
      .option('output_dir', {
        alias: 'output-dir',
        type: 'string',
        demandOption: true,
        describe: 'Directory for train/val/test files (other files there are kept)',
      })
      .option('train_ratio', {
        alias: 'train-ratio',
        type: 'number',
        default: 0.8,
        describe: 'Share of sentences for train (floor)',
      })
      .option('val_ratio', {
        alias: 'val-ratio',
        type: 'number',
        default: 0.1,
        describe: 'Share for val (floor); test gets the rest',
      })
      .option('seed', { type: 'number', default: 42, describe: 'Shuffle seed (32-bit integer)' })
      .option('format', {
        choices: DATA_FORMATS,
        default: 'csv' as SentenceFormat,
        describe: 'Output format: csv (train.csv, ...) or conll (train.tsv, ...)',
      }) as unknown as Argv<SplitArgs>,
  handler: guarded(runSplit),
};

// ---- count ----------------------------------------------------------------------------

interface CountArgs {
  file: string;
  json: boolean;
}

/** `data count`: streams the file, prints the summary. */
export async function runCount(args: CountArgs): Promise<DatasetSummary> {
  const { summarizeFile } = await trainer();
  const summary = await summarizeFile(args.file);
  out(
    args.json
      ? `${JSON.stringify({ file: args.file, ...summary })}\n`
      : `${args.file}\n${formatSummary(summary, '  ')}`,
  );
  return summary;
}

const countCommand: CommandModule<object, CountArgs> = {
  command: 'count <file>',
  describe: 'Count sentences, tokens, tags and entities per class',
  builder: (y) =>
    y
      .positional('file', {
        type: 'string',
        demandOption: true,
        describe: 'Data file (.csv or CoNLL)',
      })
      .option('json', {
        type: 'boolean',
        default: false,
        describe: 'Print JSON',
      }) as unknown as Argv<CountArgs>,
  handler: guarded(runCount),
};

// ---- filter ---------------------------------------------------------------------------

interface FilterArgs {
  input: string;
  output: string;
  mapping: string;
}

/** `data filter`: maps tags; unmapped non-O tags become O and are counted. */
export async function runFilter(args: FilterArgs): Promise<MappingCounts & { sentences: number }> {
  const { mapSentenceTags, readSentences, readTagMapping, writeSentences } = await trainer();
  const mapping = await readTagMapping(args.mapping);
  const counts: MappingCounts = { mapped: 0, replaced: 0 };
  async function* mapped(): AsyncGenerator<Sentence> {
    for await (const s of namingErrors(args.input, readSentences(args.input)))
      yield mapSentenceTags(s, mapping, counts);
  }
  const sentences = await writeSentences(args.output, mapped());
  out(
    `filtered ${sentences} sentences: ${args.input} -> ${args.output}; ` +
      `${counts.mapped} tags mapped, ${counts.replaced} unmapped tags replaced by O\n`,
  );
  return { ...counts, sentences };
}

const filterCommand: CommandModule<object, FilterArgs> = {
  command: 'filter',
  describe: 'Map tags through a JSON mapping (tags or types); unmapped tags become O',
  builder: (y) =>
    y
      .option('input', {
        type: 'string',
        demandOption: true,
        describe: 'Input file (.csv or CoNLL)',
      })
      .option('output', {
        type: 'string',
        demandOption: true,
        describe: 'Output file (format from its extension)',
      })
      .option('mapping', {
        type: 'string',
        demandOption: true,
        describe: 'JSON object, e.g. {"PER": "PERSON", "B-LOC": "B-GPE", "DATE": "O"}',
      }),
  handler: guarded(runFilter),
};

// ---- validate -------------------------------------------------------------------------

interface ValidateArgs {
  data_path: string;
  json: boolean;
  labels?: string;
}

/** `data validate`: every error in train/val/test; exit 1 when there is any. */
export async function runValidate(args: ValidateArgs): Promise<DataError[]> {
  const { checkLabelList, readSplits } = await trainer();
  let labels: string[] | undefined;
  if (args.labels !== undefined) {
    labels = args.labels.split(',').map((l) => l.trim());
    checkLabelList(labels, '--labels');
  }
  const splits = await readSplits(args.data_path, { labels, collectErrors: true });
  const errors = splits.errors;
  if (args.json) {
    out(
      `${JSON.stringify({
        ok: errors.length === 0,
        data_path: args.data_path,
        labels: splits.labels,
        splits: Object.fromEntries(
          DATA_SPLITS.map((n) => [n, { file: splits.files[n], ...splits.summaries[n] }]),
        ),
        errors: errors.map((e) => ({
          file: e.file,
          line: e.line,
          record: e.record ?? null,
          message: e.detail,
        })),
      })}\n`,
    );
  } else {
    if (errors.length === 0) {
      out(`${args.data_path}: OK\nlabels (${splits.labelOrigin}): ${splits.labels.join(' ')}\n`);
      for (const n of DATA_SPLITS)
        out(`${n}: ${splits.files[n]}\n${formatSummary(splits.summaries[n], '  ')}`);
    }
    for (const e of errors) dataIo.err(`${e.message}\n`);
    if (errors.length > 0)
      dataIo.err(`data validate: ${errors.length} error(s) in ${args.data_path}\n`);
  }
  if (errors.length > 0) process.exitCode = 1;
  return errors;
}

const validateCommand: CommandModule<object, ValidateArgs> = {
  command: 'validate',
  describe: 'Check DATA_PATH/{train,val,test}.csv as the trainer reads them; list every error',
  builder: (y) =>
    y
      .option('data_path', {
        alias: 'data-path',
        type: 'string',
        demandOption: true,
        describe: 'Directory with train.csv, val.csv, test.csv',
      })
      .option('labels', {
        type: 'string',
        describe: 'Label set, comma-separated (O first); default: from train',
      })
      .option('json', {
        type: 'boolean',
        default: false,
        describe: 'Print JSON',
      }) as unknown as Argv<ValidateArgs>,
  handler: guarded(runValidate),
};

/** `ner-launch data`. */
export const dataCommand: CommandModule = {
  command: 'data',
  describe: 'Dataset tools: convert, split, count, filter, validate, tokenize',
  builder: (y) =>
    y
      .command(convertCommand)
      .command(splitCommand)
      .command(countCommand)
      .command(filterCommand)
      .command(validateCommand)
      .command(dataTokenizeCommand as unknown as CommandModule)
      .demandCommand(1, 'Choose a data subcommand'),
  handler: () => undefined,
};
