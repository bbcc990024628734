/** `ner-launch data <subcommand>`: dataset utilities (placeholder until the data commands land). */
import type { CommandModule } from 'yargs';

export const dataCommand: CommandModule = {
  command: 'data',
  describe: 'Dataset tools: convert, split, count, filter, validate, tokenize',
  builder: (y) => y.demandCommand(1, 'Choose a data subcommand'),
  handler: () => undefined,
};
