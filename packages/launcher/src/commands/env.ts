/** `ner-launch env`: versions, backends, GPUs and config, for bug reports. */
import type { CommandModule } from 'yargs';
import { environmentReport } from '../environment-report.js';

export const envCommand: CommandModule = {
  command: 'env',
  describe: 'Print the environment (versions, backends, GPUs, launch config) for bug reports',
  builder: (y) =>
    y.option('config_file', {
      alias: 'config-file',
      type: 'string',
      describe: 'Launch config to show',
    }),
  handler: async (argv) => {
    process.stdout.write(await environmentReport(argv.config_file as string | undefined));
  },
};
