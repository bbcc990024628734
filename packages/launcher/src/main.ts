/**
 * `ner-launch` entry. argv is split at the launch target first (launch-options.ts), so the
 * target's own arguments are never parsed here; then a command runs, or the launch does.
 */
import { exitWithParent, isLaunchedWorker } from '@ner-launch/worker';
import { buildCli, commandNames } from './cli.js';
import { splitLaunchArgv } from './launch-options.js';

/**
 * Parses and runs; an error the fail handler (cli.ts) already reported in one line is not
 * rethrown, so no stack follows the message.
 */
async function run(cli: ReturnType<typeof buildCli>): Promise<void> {
  try {
    await cli.parseAsync();
  } catch (error) {
    if (process.exitCode === undefined || process.exitCode === 0) throw error;
  }
}

/** Runs the CLI on `argv`; sets process.exitCode on failure. */
export async function main(argv: string[]): Promise<void> {
  const split = splitLaunchArgv(argv);
  const commands = commandNames(buildCli([])).filter((c) => c !== '$0');
  const target = split.target;
  // `train` is a launch target, except inside a worker the launcher started (that is where
  // the trainer runs) and for its help.
  const runsHere =
    target !== undefined &&
    commands.includes(target) &&
    (target !== 'train' ||
      isLaunchedWorker(process.env) ||
      (split.launchArgs.length === 0 &&
        split.targetArgs.some((a) => a === '-h' || a === '--help')));
  if (runsHere) {
    // A worker of the built-in trainer ends with its launcher, even one killed with SIGKILL.
    if (target === 'train' && isLaunchedWorker(process.env)) exitWithParent();
    await run(buildCli([target, ...split.launchArgs, ...split.targetArgs]));
    return;
  }
  if (target === 'train' && isLaunchedWorker(process.env)) {
    process.stderr.write(
      'ner-launch: error: the built-in trainer (`train`) is not available yet in this build\n',
    );
    process.exitCode = 1;
    return;
  }
  await run(
    buildCli(split.launchArgs, {
      ...(target === undefined ? {} : { target }),
      args: split.targetArgs,
      trainAvailable: commands.includes('train'),
    }),
  );
}
