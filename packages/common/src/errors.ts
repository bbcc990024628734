/**
 * Expected failures versus bugs. An OperationalError's message is the whole story for the user
 * (it names the flag, file, line or peer, and what to do), so a CLI prints it as one line
 * without a stack; any other exception is a bug, and its stack is what a report needs.
 */

/** An expected failure (missing library, corrupt file, lost peer): one line, exit code 1. */
export class OperationalError extends Error {
  /** The exit code a CLI ends with when this error stops it. */
  get exitCode(): number {
    return 1;
  }

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/**
 * The command line, a config file, or an input named on it is wrong (unknown or malformed
 * flag, bad YAML, missing data folder, malformed CSV record): one line, exit code 2, as
 * argparse and yargs do.
 */
export class UsageError extends OperationalError {
  /** The flag or config key at fault (snake_case, without dashes), when there is one. */
  readonly flag?: string;

  constructor(message: string, options?: ErrorOptions & { flag?: string }) {
    super(message, options);
    if (options?.flag !== undefined) this.flag = options.flag;
  }

  override get exitCode(): number {
    return 2;
  }
}

/** Whether stacks are wanted for every error: `NER_LAUNCH_DEBUG=1` (or `NER_LOG_LEVEL=debug`). */
export function debugErrors(env: NodeJS.ProcessEnv = process.env): boolean {
  const flag = env.NER_LAUNCH_DEBUG;
  return (flag !== undefined && flag !== '' && flag !== '0') || env.NER_LOG_LEVEL === 'debug';
}

/** What a CLI prints for an error that stopped it, and the exit code it ends with. */
export interface ErrorReport {
  text: string;
  exitCode: number;
}

/**
 * Whether `error` is Node's report of a failed system call (ENOSPC, EACCES, ENOTDIR, ...): its
 * message names the call and the path, and the cause is the machine, not the code.
 */
function isSystemError(error: unknown): error is NodeJS.ErrnoException {
  const e = error as NodeJS.ErrnoException | null;
  return error instanceof Error && typeof e?.code === 'string' && typeof e.syscall === 'string';
}

/**
 * The report of `error` for a CLI named `prefix`: `<prefix>: error: <message>` in one line for
 * an OperationalError or a failed system call (its stack added when debugging), the stack for
 * anything else (a bug; exit code 1).
 */
export function errorReport(
  error: unknown,
  prefix: string,
  env: NodeJS.ProcessEnv = process.env,
): ErrorReport {
  if (error instanceof OperationalError || isSystemError(error)) {
    const line = `${prefix}: error: ${error.message.replace(/\s*\n\s*/g, ' ')}\n`;
    return {
      text: debugErrors(env) && error.stack ? `${line}${error.stack}\n` : line,
      exitCode: error instanceof OperationalError ? error.exitCode : 1,
    };
  }
  const stack = error instanceof Error ? (error.stack ?? String(error)) : String(error);
  return { text: `${prefix}: internal error (a bug; please report it):\n${stack}\n`, exitCode: 1 };
}
