/** The ner-launch CLI as the end-to-end tests run it: a child process from the repository root. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from './python.js';

export const NER_LAUNCH_BIN = join(REPO_ROOT, 'packages', 'launcher', 'bin', 'ner-launch.mjs');

/** Runs `ner-launch ARGS` to completion; fails the test, with its stderr, unless it exits 0. */
export function runCli(args: string[], what: string, timeoutMs = 480_000): void {
  const r = spawnSync(process.execPath, [NER_LAUNCH_BIN, ...args], {
    encoding: 'utf8',
    cwd: REPO_ROOT,
    timeout: timeoutMs,
    env: { ...process.env, NER_LOG_LEVEL: 'warn' },
  });
  assert.equal(
    r.status,
    0,
    `${what} failed (${r.error?.message ?? `exit ${r.status}`}):\n${r.stderr.slice(-3000)}`,
  );
}
