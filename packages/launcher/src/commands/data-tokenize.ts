/**
 * `ner-launch data tokenize --model DIR --input F [--max_len 512] [--json]
 * [--label_all_subtokens true|false] [--labels L,...]`: shows exactly what the trainer feeds the
 * model — input ids, word ids and aligned labels per sentence — and how many sentences were
 * truncated. `--json` prints one JSON object per sentence (JSON lines) on stdout.
 */
import { once } from 'node:events';
import { UsageError } from '@ner-launch/common';
import type { CommandModule } from 'yargs';
// Types only: the trainer (and tfjs with it) is imported when the command runs, keeping -h fast.
import type { Sentence, SentenceEncoder } from '@ner-launch/trainer';

/** Options of `data tokenize`. */
export interface DataTokenizeArgs {
  model: string;
  input: string;
  max_len: number;
  json: boolean;
  label_all_subtokens: boolean;
  labels?: string;
}

async function write(text: string): Promise<void> {
  if (!process.stdout.write(text)) await once(process.stdout, 'drain');
}

/** Runs `data tokenize`; returns the encoder so tests can read its summary. */
export async function runDataTokenize(args: DataTokenizeArgs): Promise<SentenceEncoder> {
  if (!Number.isInteger(args.max_len) || args.max_len < 2)
    throw new UsageError(`--max_len must be an integer >= 2, got ${args.max_len}`);
  const {
    asDataError,
    BertTokenizer,
    checkLabelList,
    labelsFromSentences,
    readSentences,
    SentenceEncoder,
  } = await import('@ner-launch/trainer');
  const tokenizer = BertTokenizer.fromDirectory(args.model);
  const sentences: Sentence[] = [];
  try {
    for await (const sentence of readSentences(args.input)) sentences.push(sentence);
  } catch (error) {
    throw asDataError(error, args.input);
  }
  let labelList: string[];
  if (args.labels !== undefined) {
    labelList = args.labels.split(',').map((l) => l.trim());
    checkLabelList(labelList, '--labels');
  } else {
    labelList = labelsFromSentences(sentences);
  }
  const encoder = new SentenceEncoder(tokenizer, labelList, {
    maxLength: args.max_len,
    labelAllSubtokens: args.label_all_subtokens,
  });
  for (const sentence of sentences) {
    const e = encoder.encode(sentence);
    if (args.json) {
      await write(
        `${JSON.stringify({ input_ids: e.inputIds, word_ids: e.wordIds, labels: e.labels })}\n`,
      );
    } else {
      const tokens = tokenizer.idsToTokens(e.inputIds);
      const rows = tokens.map(
        (token, i) =>
          `${token}\t${e.inputIds[i]}\t${e.wordIds[i] ?? '-'}\t${e.labels[i] === -100 ? '-100' : labelList[e.labels[i]]}`,
      );
      const note = e.truncated ? ' (truncated)' : '';
      await write(
        `# ${sentence.source.file}:${sentence.source.line}${note}\n${rows.join('\n')}\n\n`,
      );
    }
  }
  process.stderr.write(
    `data tokenize: ${args.input}: ${encoder.describe()}; labels ${labelList.join(',')}\n`,
  );
  return encoder;
}

/** `ner-launch data tokenize`. */
export const dataTokenizeCommand: CommandModule<object, DataTokenizeArgs> = {
  command: 'tokenize',
  describe: 'Tokenize a data file as the trainer does: input ids, word ids, aligned labels',
  builder: (y) =>
    y
      .option('model', {
        type: 'string',
        demandOption: true,
        describe:
          'Model directory with vocab.txt (+ tokenizer_config.json, special_tokens_map.json)',
      })
      .option('input', {
        type: 'string',
        demandOption: true,
        describe: 'Sentences: reference CSV (tokens, tags) or CoNLL',
      })
      .option('max_len', {
        alias: 'max-len',
        type: 'number',
        default: 512,
        describe: 'Truncate to this many tokens including [CLS] and [SEP] (count reported)',
      })
      .option('json', {
        type: 'boolean',
        default: false,
        describe: 'One JSON object per sentence: {input_ids, word_ids, labels}',
      })
      .option('label_all_subtokens', {
        alias: 'label-all-subtokens',
        type: 'boolean',
        default: true,
        describe: 'Label later sub-tokens of a word (B-X as I-X); false gives them -100',
      })
      .option('labels', {
        type: 'string',
        describe: "Comma-separated label list (default: O, then the input file's tags sorted)",
      }) as never,
  // Errors end in main.ts's handler: one line naming file and line, exit code 2.
  handler: async (args) => {
    await runDataTokenize(args);
  },
};
