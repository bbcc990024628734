/**
 * The yargs command tree of `ner-launch`. Each command lives in its own module under
 * `commands/` and exports a yargs CommandModule; this file only wires them together.
 */
import yargs, { type Argv } from 'yargs';
import { dataCommand } from './commands/data.js';

/** Builds the CLI for `argv` (without node and script path). */
export function buildCli(argv: string[]): Argv {
  return yargs(argv)
    .scriptName('ner-launch')
    .parserConfiguration({ 'camel-case-expansion': true })
    .command(dataCommand)
    .demandCommand(1, 'Choose a command (see ner-launch -h)')
    .strict()
    .help('h')
    .alias('h', 'help')
    .version(false)
    .wrap(Math.min(110, process.stdout.columns ?? 110));
}
