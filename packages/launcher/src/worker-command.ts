/** The command line each worker process runs for a launch target. */
import { UsageError } from '@ner-launch/common';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { LaunchTarget } from './launch-config.js';

/** The `ner-launch` bin of this checkout/install. */
export const NER_LAUNCH_BIN = fileURLToPath(new URL('../bin/ner-launch.mjs', import.meta.url));

/** The process-group check script (`ner-launch test`), written in @ner-launch/worker. */
export function selfTestScript(): string {
  const workerIndex = fileURLToPath(import.meta.resolve('@ner-launch/worker'));
  return join(dirname(workerIndex), 'self-test-main.ts');
}

/** The preload that makes a script worker exit with its launcher (parent-watch.ts). */
export function parentWatchPreload(): string {
  const workerIndex = fileURLToPath(import.meta.resolve('@ner-launch/worker'));
  return join(dirname(workerIndex), 'parent-watch-preload.ts');
}

/** argv (after the node binary) of a worker running `target`. */
export function workerArgv(target: LaunchTarget): string[] {
  if (target.kind === 'train') return [NER_LAUNCH_BIN, 'train', ...target.args];
  const path = resolve(target.path);
  if (!existsSync(path))
    throw new UsageError(
      `launch target '${target.path}' is neither \`train\` nor an existing script file (looked for ${path})`,
    );
  // Scripts may be TypeScript and import our packages' TypeScript sources: run them through tsx.
  // The built-in trainer watches its launcher itself (main.ts); a script gets the preload.
  return [
    '--import',
    import.meta.resolve('tsx'),
    '--import',
    pathToFileURL(parentWatchPreload()).href,
    path,
    ...target.args,
  ];
}
