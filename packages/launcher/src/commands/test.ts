/**
 * `ner-launch test [launch flags]`: launches the process-group check script (rendezvous,
 * collectives, sharding) with the same machinery as a real launch; ends with a success line.
 */
import { existsSync } from 'node:fs';
import type { Argv, CommandModule } from 'yargs';
import { addLaunchOptions } from '../launch-options.js';
import { selfTestScript } from '../worker-command.js';
import { runLaunch } from './launch.js';

/** The success line printed when every check passed. */
export const TEST_SUCCESS_LINE = 'Test is a success! You are ready for your distributed training!';

export const testCommand: CommandModule = {
  command: 'test',
  describe:
    'Check the process group on this set-up (rendezvous, all-reduce, broadcast, gather, barrier, sharding)',
  builder: (y: Argv) => addLaunchOptions(y),
  handler: async (argv) => {
    const script = selfTestScript();
    if (!existsSync(script))
      throw new Error(
        `the process-group self test is not available yet in this build (${script} is missing)`,
      );
    const code = await runLaunch(argv as Record<string, unknown>, {
      kind: 'script',
      path: script,
      args: [],
    });
    if (code === 0) process.stdout.write(`${TEST_SUCCESS_LINE}\n`);
  },
};
