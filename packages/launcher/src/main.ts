/**
 * `ner-launch` entry. argv is split at the launch target first (launch-options.ts), so the
 * target's own arguments are never parsed here; then a command runs, or the launch does.
 * Every error ends here: a usage error (UsageError, or yargs' own) as one line and exit code 2,
 * another expected failure (OperationalError) as one line and exit code 1, a bug with its
 * stack and exit code 1; NER_LAUNCH_DEBUG=1 adds the stack to the one-liners.
 */
import { errorReport } from '@ner-launch/common';
import { exitWithParent, isLaunchedWorker } from '@ner-launch/worker';
import { buildCli, commandNames } from './cli.js';
import { splitLaunchArgv } from './launch-options.js';

// Commands whose errors have always named them (`ner-launch train: error: ...`).
const NAMED_IN_ERRORS = new Set(['train', 'data']);

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
  const command = runsHere ? `ner-launch ${target}` : 'ner-launch';
  const prefix = runsHere && NAMED_IN_ERRORS.has(target) ? command : 'ner-launch';
  try {
    if (runsHere) {
      // A worker of the built-in trainer ends with its launcher, even one killed with SIGKILL.
      if (target === 'train' && isLaunchedWorker(process.env)) exitWithParent();
      await buildCli(
        [target, ...split.launchArgs, ...split.targetArgs],
        undefined,
        command,
      ).parseAsync();
      return;
    }
    await buildCli(
      split.launchArgs,
      {
        ...(target === undefined ? {} : { target }),
        args: split.targetArgs,
      },
      command,
    ).parseAsync();
  } catch (error) {
    const report = errorReport(error, prefix);
    process.stderr.write(report.text);
    process.exitCode = report.exitCode;
  }
}
