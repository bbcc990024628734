/**
 * GPU selection: parsing `--gpu_ids` and listing the GPUs of this machine (`nvidia-smi -L`).
 */
import { UsageError } from '@ner-launch/common';
import { spawnSync } from 'node:child_process';

/** Parses `all` (→ undefined: every detected GPU) or a comma list like `0,2`; `where` names the flag or file key. */
export function parseGpuIds(text: string, where = '--gpu_ids'): number[] | undefined {
  const trimmed = text.trim();
  if (trimmed === 'all') return undefined;
  const parts = trimmed.split(',').map((p) => p.trim());
  const ids = parts.map((p) => {
    if (!/^\d+$/.test(p))
      throw new UsageError(
        `${where}: expected 'all' or GPU ids like 0,2; '${p}' is not a GPU id (in '${text}')`,
      );
    return Number(p);
  });
  const seen = new Set<number>();
  for (const id of ids) {
    if (seen.has(id)) throw new UsageError(`${where}: GPU ${id} is listed twice in '${text}'`);
    seen.add(id);
  }
  return ids;
}

/** Ids of the NVIDIA GPUs `nvidia-smi -L` lists (empty when it is absent or fails). */
export function detectGpuIds(): number[] {
  const result = spawnSync('nvidia-smi', ['-L'], { encoding: 'utf8', timeout: 10_000 });
  if (result.status !== 0 || typeof result.stdout !== 'string') return [];
  return listedGpuIds(result.stdout);
}

/** Parses `nvidia-smi -L` output ("GPU 0: NVIDIA H100 (UUID: ...)") into ids. */
export function listedGpuIds(output: string): number[] {
  return [...output.matchAll(/^GPU (\d+):/gm)].map((m) => Number(m[1]));
}
