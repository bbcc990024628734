/**
 * Compiles a kernel file with NVRTC for one architecture and precision, caching the CUBIN on
 * disk by a hash of everything that decides it (sources, headers, options, NVRTC version):
 * ~/.cache/ner-launch/cuda-kernels, or NER_LAUNCH_CUDA_CACHE.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Nvrtc } from '../libraries/nvrtc.js';
import { floatXDefines, type Precision } from './precision.js';
import { KERNEL_HEADERS, kernelDir, readKernelSource, type KernelFile } from './sources.js';

/** The CUBIN cache folder. */
export function kernelCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.NER_LAUNCH_CUDA_CACHE ?? join(homedir(), '.cache', 'ner-launch', 'cuda-kernels');
}

/** One compiled kernel file. */
export interface CompiledKernelFile {
  file: KernelFile;
  cubin: Uint8Array;
  /** Served from the disk cache. */
  cached: boolean;
}

/** CUBIN of `file` for sm_`arch` at `precision`, from the cache or freshly compiled. */
export function compileKernelFile(
  nvrtc: Nvrtc,
  file: KernelFile,
  arch: number,
  precision: Precision,
  options: { cacheDir?: string; sourceDir?: string } = {},
): CompiledKernelFile {
  const dir = options.sourceDir ?? kernelDir();
  const source = readKernelSource(file, dir);
  const headers = KERNEL_HEADERS.map((name) => ({ name, source: readKernelSource(name, dir) }));
  const defines = floatXDefines(precision);
  const hash = createHash('sha256');
  for (const part of [
    source,
    ...headers.map((h) => h.source),
    String(arch),
    ...defines,
    nvrtc.version,
  ])
    hash.update(part).update('\0');
  const cacheDir = options.cacheDir ?? kernelCacheDir();
  const cached = join(
    cacheDir,
    `${file.replace('.cu', '')}-sm${arch}-${defines.length ? defines.join('-').toLowerCase().replace('floatx_', '') : 'fp32'}-${hash.digest('hex').slice(0, 16)}.cubin`,
  );
  try {
    return { file, cubin: new Uint8Array(readFileSync(cached)), cached: true };
  } catch {
    // not cached yet
  }
  const cubin = nvrtc.compile(source, file, { arch, headers, defines });
  mkdirSync(cacheDir, { recursive: true });
  // Written aside then renamed: another process compiling the same file never reads half a file.
  const partial = `${cached}.${process.pid}.tmp`;
  writeFileSync(partial, cubin);
  renameSync(partial, cached);
  return { file, cubin, cached: false };
}
