/**
 * The NVRTC wheels of the repo's .venv (pip-installed by .ci/run: nvidia-cuda-nvrtc-cu12 and
 * nvidia-cuda-runtime-cu12 for the headers), found by asking that Python for its site-packages.
 * Without them the compile tests skip with a reason, except in CI (CI=true), where they fail.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { discoverCuda, type CudaDiscovery } from '../../src/libraries/discovery.js';

const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');

/** A discovery over the venv's wheels, or the reason they are not usable. */
export function venvCuda(): { discovery: CudaDiscovery } | { skip: string } {
  const python = process.env.NER_PYTHON ?? join(REPO_ROOT, '.venv', 'bin', 'python');
  const discovery = existsSync(python)
    ? discoverCuda({ python, env: {}, systemDirs: [], systemIncludeDirs: [] })
    : undefined;
  const missing =
    discovery?.missing.filter((m) => ['nvrtc', 'nvrtcBuiltins', 'cudaHeaders'].includes(m.name)) ??
    [];
  if (discovery && missing.length === 0) return { discovery };
  const reason = discovery
    ? `NVRTC wheels missing from ${python}'s site-packages: ${missing.map((m) => m.lookedFor.join('|')).join(', ')} (pip install nvidia-cuda-nvrtc-cu12 nvidia-cuda-runtime-cu12)`
    : `no Python at ${python}`;
  if (process.env.CI === 'true') throw new Error(`CI=true: ${reason}`);
  return { skip: reason };
}
