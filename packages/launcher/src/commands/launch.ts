/**
 * The default command, `ner-launch [launch flags] <train|script> [args...]`: resolves the
 * launch flags (flag > config file > default) and runs the workers under supervision.
 */
import { log, UsageError } from '@ner-launch/common';
import type { Argv, CommandModule } from 'yargs';
import { loadLaunchConfigFile } from '../config-file.js';
import { defaultsWarning, resolveLaunchConfig, type LaunchTarget } from '../launch-config.js';
import { addLaunchOptions, flagsFromArgv } from '../launch-options.js';
import { launch } from '../launch.js';
import { checkTrainArgs } from './train.js';

/** The target and its untouched arguments, split off argv before yargs sees it (main.ts). */
export interface TargetArgv {
  target?: string;
  args: string[];
}

/** Builds the launch target from the split argv; errors name what is missing. */
export function launchTarget(split: TargetArgv): LaunchTarget {
  if (split.target === undefined)
    throw new UsageError(
      'Give what to launch: `train [train flags]` or the path of a script, e.g. `ner-launch --cpu --num_processes 2 train --data_path ./data/` (see ner-launch -h)',
    );
  if (split.target === 'train') return { kind: 'train', args: split.args };
  return { kind: 'script', path: split.target, args: split.args };
}

/** Resolves flags from yargs' argv and runs the launch; sets process.exitCode. */
export async function runLaunch(
  argv: Record<string, unknown>,
  target: LaunchTarget,
): Promise<number> {
  const flags = flagsFromArgv(argv);
  const file = loadLaunchConfigFile(flags.configFile);
  const { config, defaultsUsed, warnings } = resolveLaunchConfig(flags, file, target);
  if (target.kind === 'train') await checkTrainArgs(target.args);
  if (config.debug) log.level = 'debug';
  else if (config.quiet) log.level = 'warn';
  for (const line of file?.notes ?? []) log.info(line);
  for (const w of warnings) log.warn(w);
  const note = defaultsWarning(defaultsUsed);
  if (note && !config.quiet) log.warn(note);
  const result = await launch(config, {
    console: { stdout: process.stdout, stderr: process.stderr },
    log,
    forwardSignals: true,
  });
  process.exitCode = result.exitCode;
  return result.exitCode;
}

/** The yargs module of the default command; `split` carries the target main.ts split off. */
export function launchCommand(split: TargetArgv): CommandModule {
  return {
    command: '$0',
    describe:
      'Launch `train` (the built-in NER trainer) or a JS/TS script on every worker: ner-launch [launch flags] <train|script> [args...]',
    builder: (y: Argv) => addLaunchOptions(y),
    handler: async (argv) => {
      await runLaunch(argv as Record<string, unknown>, launchTarget(split));
    },
  };
}
