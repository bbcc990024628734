/**
 * Runs `ner-launch` in a child process that reports its own peak RSS (report-peak-rss.mjs),
 * for tests that bound the memory hostile input may take.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
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

/** Options of a measured run. */
export interface MeasuredOptions {
  env?: NodeJS.ProcessEnv;
  /** Stops a hang only (default 120 s); tests never assert on time. */
  timeoutMs?: number;
}

function spawnArgs(args: string[], options: MeasuredOptions) {
  return {
    argv: ['--import', PRELOAD, NER_LAUNCH_BIN, ...args],
    options: {
      encoding: 'utf8' as const,
      cwd: REPO_ROOT,
      timeout: options.timeoutMs ?? 120_000,
      env: {
        ...process.env,
        NER_LOG_LEVEL: 'warn',
        // No user default launch config (~/.cache/ner-launch) may change what runs.
        NER_LAUNCH_CONFIG_DIR: mkdtempSync(join(tmpdir(), 'measured-cli-config-')),
        ...options.env,
      },
      maxBuffer: 64 * 2 ** 20,
    },
  };
}

function measured(
  status: number | null,
  signal: NodeJS.Signals | null,
  stdout: string,
  stderr: string,
): MeasuredRun {
  const match = /\nPEAK_RSS_KB=(-?\d+)\n$/.exec(stderr);
  return {
    status,
    signal,
    stdout,
    stderr: match ? stderr.slice(0, match.index) : stderr,
    peakRssBytes: match ? Number(match[1]) * 1024 : Number.NaN,
  };
}

/** Runs `ner-launch ARGS` to completion. */
export function runMeasured(args: string[], options: MeasuredOptions = {}): MeasuredRun {
  const { argv, options: spawnOptions } = spawnArgs(args, options);
  const r = spawnSync(process.execPath, argv, spawnOptions);
  return measured(r.status, r.signal, r.stdout, r.stderr);
}

/** Runs `ner-launch ARGS` without blocking (several at once, e.g. two "machines"). */
export function runMeasuredAsync(
  args: string[],
  options: MeasuredOptions = {},
): Promise<MeasuredRun> {
  const { argv, options: spawnOptions } = spawnArgs(args, options);
  const child = spawn(process.execPath, argv, { ...spawnOptions, stdio: 'pipe' });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  return new Promise((resolve) =>
    child.once('close', (code, signal) => resolve(measured(code, signal, stdout, stderr))),
  );
}
