/**
 * `ner-launch train [train flags]`: the built-in NER trainer. The launcher starts it on each
 * worker (`ner-launch --cpu --num_processes 2 train ...`), where the worker env (RANK,
 * WORLD_SIZE, ...) says which process it is; started without one it is a single process.
 * Flags come from one schema (@ner-launch/trainer's TRAIN_FLAGS), also read from `--config`
 * YAML; a flag on the command line wins over the file.
 */
import type { Argv, CommandModule } from 'yargs';
// The flag schema is a light entry point (no tfjs), so `ner-launch -h` and the launcher stay
// quick; the trainer itself loads only when the command runs.
import { resolveTrainOptions, trainFlagYargsOptions } from '@ner-launch/trainer/train-flags';

/** The yargs module of `train`. */
export const trainCommand: CommandModule = {
  command: 'train',
  describe:
    'Train a BERT NER model (the reference trainer): flags below, or --config FILE.yaml of them',
  builder: (y: Argv) =>
    y
      .options(trainFlagYargsOptions())
      .epilogue(
        'Precedence: command-line flag > --config YAML > default. --batch_size is per process.',
      ),
  // Errors (a UsageError names the flag, file or record) end in main.ts's handler; a launched
  // worker's non-zero exit makes the launcher stop the whole group.
  handler: async (argv) => {
    const options = await resolveTrainOptions(argv as Record<string, unknown>);
    const { runTraining } = await import('@ner-launch/trainer');
    await runTraining(options);
  },
};
