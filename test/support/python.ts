/**
 * The Python reference (HF Transformers, torch CPU, seqeval) for parity tests. It lives in
 * the repo's `.venv` (made by .ci/run) or at `$NER_PYTHON`. Without it, parity tests skip
 * with a reason, except when `NER_REQUIRE_PYTHON=1` (CI), where a missing reference fails.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = dirname(dirname(dirname(fileURLToPath(import.meta.url))));
export const REFERENCE_DIR = join(REPO_ROOT, 'tools', 'reference');
export const TURKU_DIR = join(REPO_ROOT, '..', 'shared', 'data', 'turku-ner');

/** Path of the reference interpreter, or undefined when none is set up. */
export function referencePython(): string | undefined {
  const candidate = process.env.NER_PYTHON ?? join(REPO_ROOT, '.venv', 'bin', 'python');
  return existsSync(candidate) ? candidate : undefined;
}

/** For `test(name, { skip: skipWithoutPython() }, ...)`: a skip reason, or false. */
export function skipWithoutPython(): string | false {
  if (referencePython()) return false;
  if (process.env.NER_REQUIRE_PYTHON === '1')
    throw new Error(
      'NER_REQUIRE_PYTHON=1 but no reference Python found (.venv/bin/python or $NER_PYTHON)',
    );
  return 'no Python reference venv (.venv); run .ci/run or set NER_PYTHON';
}

/** Same for tests that read the shared Turku corpus. */
export function skipWithoutTurku(): string | false {
  return existsSync(join(TURKU_DIR, 'train.csv'))
    ? false
    : `Turku corpus not found at ${TURKU_DIR}`;
}

/** Runs `tools/reference/<script>` with args; returns stdout, throws with stderr on failure. */
export function runReference(script: string, args: string[], input?: string): string {
  const python = referencePython();
  if (!python) throw new Error('no reference Python');
  const result = spawnSync(python, [join(REFERENCE_DIR, script), ...args], {
    encoding: 'utf8',
    input,
    maxBuffer: 1 << 30,
    env: { ...process.env, HF_HUB_OFFLINE: '1', TRANSFORMERS_OFFLINE: '1', PYTHONHASHSEED: '0' },
  });
  if (result.status !== 0)
    throw new Error(`tools/reference/${script} failed (${result.status}):\n${result.stderr}`);
  return result.stdout;
}
