/**
 * Finds the CUDA libraries at run time, CUDA 12 or 13: the driver (libcuda.so.1), NVRTC with its
 * builtins, the CUDA runtime headers (cuda_bf16.h for NVRTC), cuBLASLt and NCCL. Looks in order
 * at --cuda_home, CUDA_HOME / CUDA_PATH, LD_LIBRARY_PATH, /usr/local/cuda, the system library
 * folders, then a Python environment's nvidia-* wheels (site-packages/nvidia/<pkg>/lib and cu13's
 * nvidia/cu13/lib). Pure file-system work: loading is the bindings' job.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/** The libraries the engine needs. */
export type CudaLibraryName = 'driver' | 'nvrtc' | 'nvrtcBuiltins' | 'cublasLt' | 'nccl';

/** One library found: its file and the version its file name tells. */
export interface FoundLibrary {
  name: CudaLibraryName;
  path: string;
  /** e.g. "12.9" for libnvrtc-builtins.so.12.9, "13" for libcublasLt.so.13. */
  version: string;
}

/** A library (or header folder) not found, with what was looked for and where. */
export interface MissingLibrary {
  name: CudaLibraryName | 'cudaHeaders';
  lookedFor: string[];
  searched: string[];
}

/** What `discoverCuda` found. */
export interface CudaDiscovery {
  libraries: Partial<Record<CudaLibraryName, FoundLibrary>>;
  /** Folder holding cuda_bf16.h / cuda_fp16.h (passed to NVRTC as -I). */
  includeDir?: string;
  missing: MissingLibrary[];
  /** Every folder looked at, in order. */
  searched: string[];
}

/** Where to look; every field is optional and documents its default. */
export interface CudaDiscoveryOptions {
  /** --cuda_home; default none. */
  cudaHome?: string;
  /** Environment read for CUDA_HOME, CUDA_PATH, LD_LIBRARY_PATH (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** A Python whose site-packages hold nvidia-* wheels (default env NER_LAUNCH_CUDA_PYTHON). */
  python?: string;
  /** site-packages folders to scan as well (default none). */
  sitePackages?: string[];
  /** System folders (default /usr/local/cuda and the usual driver folders). */
  systemDirs?: string[];
  /** System header folders (default /usr/local/cuda/include and its targets/ twin). */
  systemIncludeDirs?: string[];
}

/** System folders searched after the user's: the toolkit, then where drivers put libcuda. */
export const DEFAULT_SYSTEM_DIRS = [
  '/usr/local/cuda/lib64',
  '/usr/local/cuda/targets/x86_64-linux/lib',
  '/usr/local/nvidia/lib64',
  '/usr/lib/x86_64-linux-gnu',
  '/usr/lib64',
  '/usr/lib/wsl/lib',
];

/** Header folders searched after the user's. */
export const DEFAULT_SYSTEM_INCLUDE_DIRS = [
  '/usr/local/cuda/include',
  '/usr/local/cuda/targets/x86_64-linux/include',
];

// Newest major first: a folder holding both takes CUDA 13.
const PATTERNS: Record<CudaLibraryName, { files: string[]; versionFrom: RegExp }> = {
  driver: { files: ['libcuda.so.1'], versionFrom: /libcuda\.so\.(\d+)/ },
  nvrtc: { files: ['libnvrtc.so.13', 'libnvrtc.so.12'], versionFrom: /libnvrtc\.so\.(\d+)/ },
  nvrtcBuiltins: {
    files: ['libnvrtc-builtins.so.13.*', 'libnvrtc-builtins.so.12.*'],
    versionFrom: /libnvrtc-builtins\.so\.([\d.]+)/,
  },
  cublasLt: {
    files: ['libcublasLt.so.13', 'libcublasLt.so.12'],
    versionFrom: /libcublasLt\.so\.(\d+)/,
  },
  nccl: { files: ['libnccl.so.2'], versionFrom: /libnccl\.so\.(\d+)/ },
};

const WHEEL_LIB_DIRS = ['cu13/lib', 'cuda_nvrtc/lib', 'cublas/lib', 'nccl/lib', 'cuda_runtime/lib'];
const WHEEL_INCLUDE_DIRS = ['cu13/include', 'cuda_runtime/include'];

/** site-packages of `python` (asks it; a failing python is reported, not thrown). */
export function pythonSitePackages(python: string): string[] {
  try {
    const out = execFileSync(
      python,
      [
        '-c',
        'import site, sys; print("\\n".join(site.getsitepackages() + [site.getusersitepackages()]))',
      ],
      { encoding: 'utf8', timeout: 20_000, stdio: ['ignore', 'pipe', 'ignore'] },
    );
    return out.split('\n').filter((line) => line.length > 0);
  } catch {
    return [];
  }
}

/** Library and include folders in search order, de-duplicated. */
export function candidateDirs(options: CudaDiscoveryOptions = {}): {
  libDirs: string[];
  includeDirs: string[];
} {
  const env = options.env ?? process.env;
  const homes = [options.cudaHome, env.CUDA_HOME, env.CUDA_PATH].filter(
    (home): home is string => typeof home === 'string' && home.length > 0,
  );
  const libDirs: string[] = [];
  const includeDirs: string[] = [];
  for (const home of homes) {
    libDirs.push(join(home, 'lib64'), join(home, 'lib'), join(home, 'targets/x86_64-linux/lib'));
    includeDirs.push(join(home, 'include'), join(home, 'targets/x86_64-linux/include'));
  }
  for (const dir of (env.LD_LIBRARY_PATH ?? '').split(':')) if (dir) libDirs.push(dir);
  libDirs.push(...(options.systemDirs ?? DEFAULT_SYSTEM_DIRS));
  includeDirs.push(...(options.systemIncludeDirs ?? DEFAULT_SYSTEM_INCLUDE_DIRS));
  const python = options.python ?? env.NER_LAUNCH_CUDA_PYTHON;
  const sites = [...(options.sitePackages ?? []), ...(python ? pythonSitePackages(python) : [])];
  for (const site of sites) {
    for (const dir of WHEEL_LIB_DIRS) libDirs.push(join(site, 'nvidia', dir));
    for (const dir of WHEEL_INCLUDE_DIRS) includeDirs.push(join(site, 'nvidia', dir));
  }
  return { libDirs: [...new Set(libDirs)], includeDirs: [...new Set(includeDirs)] };
}

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function matches(file: string, pattern: string): boolean {
  if (!pattern.endsWith('*')) return file === pattern;
  return file.startsWith(pattern.slice(0, -1)) && /^[\d.]+$/.test(file.slice(pattern.length - 1));
}

function findIn(name: CudaLibraryName, dirs: string[]): FoundLibrary | undefined {
  const { files, versionFrom } = PATTERNS[name];
  for (const pattern of files)
    for (const dir of dirs) {
      const file = listDir(dir)
        .filter((entry) => matches(entry, pattern))
        .sort()
        .at(-1);
      if (file) {
        const full = listDir(dir).find(
          (entry) => entry.startsWith(`${file}.`) && /[\d.]+$/.test(entry),
        );
        const version = versionFrom.exec(full ?? file)?.[1] ?? '?';
        return {
          name,
          path: join(dir, file),
          version: full ? (/\.so\.([\d.]+)$/.exec(full)?.[1] ?? version) : version,
        };
      }
    }
  return undefined;
}

/** Looks for every library and the runtime headers; never throws. */
export function discoverCuda(options: CudaDiscoveryOptions = {}): CudaDiscovery {
  const { libDirs, includeDirs } = candidateDirs(options);
  const libraries: CudaDiscovery['libraries'] = {};
  const missing: MissingLibrary[] = [];
  for (const name of ['driver', 'nvrtc', 'cublasLt', 'nccl'] as const) {
    const found = findIn(name, libDirs);
    if (found) libraries[name] = found;
    else missing.push({ name, lookedFor: PATTERNS[name].files, searched: libDirs });
  }
  if (libraries.nvrtc) {
    // NVRTC dlopens its builtins by soname at compile time: take the ones beside it, same major.
    const major = libraries.nvrtc.version.split('.')[0]!;
    const dir = libraries.nvrtc.path.slice(0, libraries.nvrtc.path.lastIndexOf('/'));
    const builtins = findIn('nvrtcBuiltins', [dir]);
    if (builtins && builtins.version.startsWith(`${major}.`)) {
      libraries.nvrtcBuiltins = builtins;
      libraries.nvrtc.version = builtins.version;
    } else
      missing.push({
        name: 'nvrtcBuiltins',
        lookedFor: [`libnvrtc-builtins.so.${major}.*`],
        searched: [dir],
      });
  }
  const includeDir = includeDirs.find((dir) => existsSync(join(dir, 'cuda_bf16.h')));
  if (!includeDir)
    missing.push({ name: 'cudaHeaders', lookedFor: ['cuda_bf16.h'], searched: includeDirs });
  return { libraries, ...(includeDir ? { includeDir } : {}), missing, searched: libDirs };
}
