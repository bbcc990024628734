/**
 * Runs `ner-launch` in a child process that reports its own peak RSS (report-peak-rss.mjs),
 * for tests that bound the memory hostile input may take.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { NER_LAUNCH_BIN } from './cli.js';
import { REPO_ROOT } from './python.js';

const PRELOAD = join(REPO_ROOT, 'test', 'support', 'report-peak-rss.mjs');

/** How a measured run ended. */
export interface MeasuredRun {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  /** stderr without the peak-RSS line. */
  stderr: string;
  /** The child's own peak resident set in bytes (VmHWM). */
  peakRssBytes: number;
}

/** Runs `ner-launch ARGS` (a generous timeout only stops a hang; tests never assert time). */
export function runMeasured(
  args: string[],
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): MeasuredRun {
  const r = spawnSync(process.execPath, ['--import', PRELOAD, NER_LAUNCH_BIN, ...args], {
    encoding: 'utf8',
    cwd: REPO_ROOT,
    timeout: options.timeoutMs ?? 120_000,
    env: { ...process.env, NER_LOG_LEVEL: 'warn', ...options.env },
    maxBuffer: 64 * 2 ** 20,
  });
  const match = /\nPEAK_RSS_KB=(-?\d+)\n$/.exec(r.stderr);
  return {
    status: r.status,
    signal: r.signal,
    stdout: r.stdout,
    stderr: match ? r.stderr.slice(0, match.index) : r.stderr,
    peakRssBytes: match ? Number(match[1]) * 1024 : Number.NaN,
  };
}

/** The error lines of a run's stderr (what the user reads), trimmed. */
export function errorLines(run: MeasuredRun): string[] {
  return run.stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
}
