/**
 * `ner-launch train [train flags]`: the built-in NER trainer. The launcher starts it on each
 * worker (`ner-launch --cpu --num_processes 2 train ...`), where the worker env (RANK,
 * WORLD_SIZE, ...) says which process it is; started without one it is a single process.
 * Flags come from one schema (@ner-launch/trainer's TRAIN_FLAGS), also read from `--config`
 * YAML; a flag on the command line wins over the file.
 */
import { UsageError } from '@ner-launch/common';
import yargs, { type Argv, type CommandModule } from 'yargs';
// The flag schema is a light entry point (no tfjs), so `ner-launch -h` and the launcher stay
// quick; the trainer itself loads only when the command runs.
import {
  checkDataPath,
  resolveTrainOptions,
  trainFlagYargsOptions,
} from '@ner-launch/trainer/train-flags';
import { keepUnparsedNumbers } from '../unparsed-numbers.js';

const DESCRIBE =
  'Train a BERT NER model (the reference trainer): flags below, or --config FILE.yaml of them';

function trainFlags(y: Argv): Argv {
  return y
    .options(trainFlagYargsOptions())
    .epilogue(
      'Precedence: command-line flag > --config YAML > default. --batch_size is per process.',
    );
}

/** The yargs module of `train`. */
export const trainCommand: CommandModule = {
  command: 'train',
  describe: DESCRIBE,
  builder: trainFlags,
  // Errors (a UsageError names the flag, file or record) end in main.ts's handler; a launched
  // worker's non-zero exit makes the launcher stop the whole group.
  handler: async (argv) => {
    const options = await resolveTrainOptions(argv as Record<string, unknown>);
    const { runTraining } = await import('@ner-launch/trainer');
    await runTraining(options);
  },
};

/**
 * Checks `train [args]` in the launcher as every worker will (unknown flags, flag values, the
 * --config YAML, the --data_path folder), so that a usage error is one line before any worker
 * starts, not one line from each worker.
 */
export async function checkTrainArgs(args: string[]): Promise<void> {
  if (args.some((a) => a === '-h' || a === '--help')) return;
  let parsed: Record<string, unknown> | undefined;
  await yargs(['train', ...args])
    .parserConfiguration({ 'camel-case-expansion': true })
    .middleware(keepUnparsedNumbers(args), true)
    .command({
      command: 'train',
      describe: DESCRIBE,
      builder: trainFlags,
      handler: (argv) => {
        parsed = argv;
      },
    })
    .strict()
    .help(false)
    .version(false)
    .fail((message, error) => {
      throw error ?? new UsageError(`${message} (see \`ner-launch train -h\`)`);
    })
    .parseAsync();
  if (parsed === undefined) return;
  const options = await resolveTrainOptions(parsed);
  await checkDataPath(options.data_path);
}
