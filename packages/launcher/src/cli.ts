/**
 * The yargs command tree of `ner-launch`. Each command lives in its own module under
 * `commands/` and exports a yargs CommandModule; this file only wires them together.
 */
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

/**
 * Builds the CLI for `argv` (without node and script path). `launch` carries the launch
 * target and its untouched arguments, which main.ts splits off before yargs parses anything.
 */
export function buildCli(
  argv: string[],
  launch: TargetArgv = { args: [], trainAvailable: false },
): Argv {
  return yargs(argv)
    .scriptName('ner-launch')
    .usage(
      'Usage: ner-launch [launch flags] <train|script.ts> [args...]\n       ner-launch <command> [flags]',
    )
    .parserConfiguration({ 'camel-case-expansion': true })
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
    .fail((message, error, y) => {
      // Errors thrown by a command are the user's answer: no help dump above them.
      if (error) {
        process.stderr.write(`ner-launch: error: ${error.message}\n`);
        process.exitCode = 1;
        return;
      }
      y.showHelp();
      process.stderr.write(`\nner-launch: error: ${message}\n`);
      process.exitCode = 2;
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
