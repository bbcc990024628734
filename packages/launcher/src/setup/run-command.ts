/** Runs the external tools of `ner-launch setup` (pip, npm, tar, node-gyp, compilers). */
import { spawn, type ChildProcess } from 'node:child_process';

const running = new Set<ChildProcess>();

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
    running.add(child);
    let output = '';
    const collect = (chunk: Buffer): void => {
      output += chunk.toString('utf8');
      // Keep the tail only: compiler output can be long and only its end explains a failure.
      if (output.length > 200_000) output = output.slice(-100_000);
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    child.on('error', (error: NodeJS.ErrnoException) => {
      running.delete(child);
      resolve({ status: null, output, spawnError: error });
    });
    child.on('close', (status) => {
      running.delete(child);
      resolve({ status, output });
    });
  });
}

/** Kills the tools still running and waits until they have exited (at most `timeoutMs`). */
export async function stopRunningCommands(timeoutMs = 5000): Promise<void> {
  const exits = [...running].map(
    (child) =>
      new Promise<void>((resolve) => {
        child.once('close', () => resolve());
        child.kill('SIGKILL');
      }),
  );
  await Promise.race([Promise.all(exits), new Promise((r) => setTimeout(r, timeoutMs).unref())]);
}

/** The last `n` non-empty lines of a tool's output, for an error message. */
export function outputTail(output: string, n = 15): string {
  return output
    .split('\n')
    .filter((l) => l.trim() !== '')
    .slice(-n)
    .join('\n');
}
