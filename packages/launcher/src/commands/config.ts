/**
 * `ner-launch config`: writes the launcher's YAML config, interactively on a terminal, or
 * `ner-launch config default` without questions (never overwriting an existing file).
 */
import { createInterface } from 'node:readline/promises';
import { log, UsageError } from '@ner-launch/common';
import type { Argv, CommandModule } from 'yargs';
import { defaultConfigPath, nerLaunchOnlyKeys, writeConfigFile } from '../config-file.js';
import { askConfigSettings, defaultConfigSettings } from '../config-questionnaire.js';
import { detectGpuIds } from '../gpu-ids.js';
import { launchOption } from '../launch-options.js';

function withConfigFile(y: Argv): Argv {
  return y.option('config_file', {
    alias: 'config-file',
    type: 'string',
    describe: 'Where to write the config',
    defaultDescription: defaultConfigPath(),
  });
}

const defaultSubcommand: CommandModule = {
  command: 'default',
  describe: 'Write a default config for this machine without questions (never overwrites)',
  builder: (y) =>
    withConfigFile(y).option('mixed_precision', {
      alias: 'mixed-precision',
      type: 'string',
      choices: launchOption('mixedPrecision').choices!,
      default: launchOption('mixedPrecision').default,
      describe: 'Mixed precision of the written config',
    }),
  handler: async (argv) => {
    const path = (argv.config_file as string | undefined) ?? defaultConfigPath();
    const settings = defaultConfigSettings(detectGpuIds().length, argv.mixed_precision as string);
    if (await writeConfigFile(path, settings, false))
      process.stdout.write(`ner-launch configuration saved at ${path}\n`);
    else
      log.warn(
        `configuration already exists at ${path}; not overwriting it (edit it, or run \`ner-launch config\`)`,
      );
  },
};

export const configCommand: CommandModule = {
  command: 'config',
  describe: 'Create the launch config file (interactive), or `config default`',
  builder: (y) => withConfigFile(y).command(defaultSubcommand),
  handler: async (argv) => {
    if (!process.stdin.isTTY)
      throw new UsageError(
        '`ner-launch config` asks questions on a terminal; use `ner-launch config default` in scripts',
      );
    const path = (argv.config_file as string | undefined) ?? defaultConfigPath();
    const rl = createInterface({ input: process.stdin, output: process.stdout });
    try {
      // Reading lines through the iterator keeps answers typed (or pasted) ahead of a prompt.
      const lines = rl[Symbol.asyncIterator]();
      const ask = async (question: string): Promise<string> => {
        rl.setPrompt(question);
        rl.prompt();
        const next = await lines.next();
        if (next.done) throw new UsageError('input ended before every question was answered');
        return next.value;
      };
      const settings = await askConfigSettings(ask, detectGpuIds().length);
      await writeConfigFile(path, settings, true);
      const own = nerLaunchOnlyKeys(settings);
      if (own.length > 0)
        log.info(
          `${path} holds ner-launch's own ${own.join(', ')}: accelerate refuses the file (answer the defaults, or pass them as flags, to share it with accelerate)`,
        );
    } finally {
      rl.close();
    }
    process.stdout.write(`ner-launch configuration saved at ${path}\n`);
  },
};
