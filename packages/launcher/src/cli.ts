/**
 * The yargs command tree of `ner-launch`. Each command lives in its own module under
 * `commands/` and exports a yargs CommandModule; this file only wires them together.
 */
import { UsageError } from '@ner-launch/common';
import yargs, { type Argv } from 'yargs';
import { configCommand } from './commands/config.js';
import { dataCommand } from './commands/data.js';
import { envCommand } from './commands/env.js';
import { launchCommand, type TargetArgv } from './commands/launch.js';
import { scoreCommand } from './commands/score.js';
import { setupCommand } from './commands/setup.js';
import { testCommand } from './commands/test.js';
import { trainCommand } from './commands/train.js';
import { predictCommand } from './commands/predict.js';
import { keepUnparsedNumbers } from './unparsed-numbers.js';

/**
 * Builds the CLI for `argv` (without node and script path). `launch` carries the launch
 * target and its untouched arguments, which main.ts splits off before yargs parses anything;
 * `command` is what a usage error points to for help.
 */
export function buildCli(
  argv: string[],
  launch: TargetArgv = { args: [] },
  command = 'ner-launch',
): Argv {
  return yargs(argv)
    .scriptName('ner-launch')
    .usage(
      'Usage: ner-launch [launch flags] <train|script.ts> [args...]\n       ner-launch <command> [flags]',
    )
    .parserConfiguration({ 'camel-case-expansion': true })
    .middleware(keepUnparsedNumbers(argv), true)
    .command(launchCommand(launch))
    .command(configCommand)
    .command(envCommand)
    .command(testCommand)
    .command(dataCommand)
    .command(scoreCommand)
    .command(trainCommand)
    .command(predictCommand)
    .command(setupCommand)
    .strict()
    .help('h')
    .alias('h', 'help')
    .version(false)
    .fail((message, error) => {
      // Both end in main.ts's handler: a command's own error as it is, yargs' complaint about
      // the command line as a one-line usage error (no help dump above it).
      if (error) throw error;
      throw new UsageError(`${message} (see \`${command} -h\`)`);
    })
    .wrap(Math.min(110, process.stdout.columns ?? 110));
}

/** Names (and aliases) of the commands registered in `cli`. */
export function commandNames(cli: Argv): string[] {
  const internal = cli as unknown as {
    getInternalMethods(): { getCommandInstance(): { getCommands(): string[] } };
  };
  return internal.getInternalMethods().getCommandInstance().getCommands();
}
