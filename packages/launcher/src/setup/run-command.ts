/** Runs the external tools of `ner-launch setup` (pip, npm, tar, node-gyp, compilers). */
import { spawn } from 'node:child_process';

/** How a tool ended and what it printed (stdout and stderr interleaved). */
export interface CommandResult {
  status: number | null;
  output: string;
  /** Set when the program could not be started at all (ENOENT: not installed). */
  spawnError?: NodeJS.ErrnoException;
}

/** Options of `runCommand`. */
export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Show the tool's own output (pip's progress bar) instead of capturing it. */
  inherit?: boolean;
}

/** Runs `command args` to completion; never throws. */
export function runCommand(
  command: string,
  args: string[],
  options: RunOptions = {},
): Promise<CommandResult> {
  return new Promise((resolve) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: options.inherit ? ['ignore', 2, 2] : ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const collect = (chunk: Buffer): void => {
      output += chunk.toString('utf8');
      // Keep the tail only: compiler output can be long and only its end explains a failure.
      if (output.length > 200_000) output = output.slice(-100_000);
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    child.on('error', (error: NodeJS.ErrnoException) =>
      resolve({ status: null, output, spawnError: error }),
    );
    child.on('close', (status) => resolve({ status, output }));
  });
}

/** The last `n` non-empty lines of a tool's output, for an error message. */
export function outputTail(output: string, n = 15): string {
  return output
    .split('\n')
    .filter((l) => l.trim() !== '')
    .slice(-n)
    .join('\n');
}
