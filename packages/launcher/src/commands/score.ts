/**
 * `ner-launch score --gold G --pred P [--mode default|strict] [--json]`: scores predicted tags
 * against gold tags exactly as the reference trainer does (seqeval 1.2.2 through `evaluate`), and
 * prints seqeval's classification report, the overall figures and the "without O" figures. The
 * scoring itself is in ../score-files.ts, imported when the command runs so `-h` stays fast.
 */
import { UsageError } from '@ner-launch/common';
import type { CommandModule } from 'yargs';
import type { ScoringMode, Sentence } from '@ner-launch/trainer';

export type { ScoreInput } from '../score-files.js';

/** The chunkers (the trainer's SCORING_MODES, spelled out so the flags load no trainer). */
export const SCORE_MODES: readonly ScoringMode[] = ['default', 'strict'];

/** Options of `ner-launch score`. */
export interface ScoreArgs {
  gold: string;
  pred: string;
  mode: ScoringMode;
  json: boolean;
  digits: number;
}

/** Reads one file of sentences (CSV or CoNLL); replaced in tests. */
export type SentenceFileReader = (path: string) => Promise<Sentence[]>;

/** Builds the `score` command around a file reader (tests pass a fake one). */
export function makeScoreCommand(read: SentenceFileReader): CommandModule<object, ScoreArgs> {
  return {
    command: 'score',
    describe:
      'Score predicted tags against gold tags as seqeval 1.2.2 does: entity P/R/F1, accuracy, per class, without O',
    builder: (y) =>
      y
        .option('gold', {
          type: 'string',
          demandOption: true,
          describe: 'Gold file: reference CSV (tokens, tags columns) or CoNLL',
        })
        .option('pred', {
          type: 'string',
          demandOption: true,
          describe: 'Predicted file, same format rules and the same sentences in the same order',
        })
        .option('mode', {
          choices: SCORE_MODES,
          default: 'default' as ScoringMode,
          describe:
            "Chunker: 'default' = seqeval's conlleval-compatible one (the reference's), 'strict' = mode='strict', scheme=IOB2",
        })
        .option('json', {
          type: 'boolean',
          default: false,
          describe:
            'Print the figures as JSON (overall, per_class, without_O) instead of the report',
        })
        .option('digits', {
          type: 'number',
          default: 4,
          describe: 'Decimals in the text report',
        }),
    handler: async (args) => {
      if (!Number.isInteger(args.digits) || args.digits < 0 || args.digits > 20)
        throw new UsageError(`score: --digits must be an integer from 0 to 20, got ${args.digits}`);
      // One after the other, so a bad gold file is always the error reported.
      const gold = await read(args.gold);
      const pred = await read(args.pred);
      const { scoreFiles } = await import('../score-files.js');
      const { scores, text } = scoreFiles(
        { path: args.gold, sentences: gold },
        { path: args.pred, sentences: pred },
        args.mode,
        args.digits,
      );
      process.stdout.write(args.json ? `${JSON.stringify(scores, null, 2)}\n` : text);
    },
  };
}

/** `ner-launch score`, reading files with the trainer's CSV/CoNLL readers. */
export const scoreCommand = makeScoreCommand(async (path) =>
  (await import('../score-files.js')).readSentenceFile(path),
);
