/**
 * NVRTC bindings (koffi): compile CUDA C to CUBIN for one sm_XX, without a GPU. The builtins
 * library is preloaded by absolute path (NVRTC dlopens it by soname otherwise and fails with
 * NVRTC_ERROR_BUILTIN_OPERATION_FAILURE), and the runtime headers go in with -I (cuda_bf16.h).
 */
import type { CudaDiscovery } from './discovery.js';
import { bindFunction, CudaLibraryError, loadLibrary } from './load-library.js';

/** A compile that failed: the message carries NVRTC's log. */
export class NvrtcCompileError extends Error {
  override readonly name = 'NvrtcCompileError';
}

/** A header given to NVRTC by name instead of from disk. */
export interface NvrtcHeader {
  name: string;
  source: string;
}

/** The loaded compiler. */
export interface Nvrtc {
  /** "12.9" */
  version: string;
  path: string;
  includeDir: string;
  /** CUBIN bytes for `arch` (e.g. 90 for sm_90); `defines` become -D options. */
  compile(
    source: string,
    fileName: string,
    options: { arch: number; headers?: NvrtcHeader[]; defines?: string[] },
  ): Uint8Array;
}

let loaded: Nvrtc | undefined;

/** Loads NVRTC from a discovery (once per process). */
export function loadNvrtc(discovery: CudaDiscovery): Nvrtc {
  if (loaded) return loaded;
  const nvrtc = discovery.libraries.nvrtc;
  const builtins = discovery.libraries.nvrtcBuiltins;
  if (!nvrtc || !builtins || !discovery.includeDir)
    throw new CudaLibraryError(
      `NVRTC needs libnvrtc.so.13|12, its libnvrtc-builtins and cuda_bf16.h; missing: ${discovery.missing.map((m) => m.lookedFor.join('|')).join(', ')} (searched ${discovery.searched.join(':')})`,
    );
  loadLibrary(builtins.path, 'the NVRTC builtins');
  const lib = loadLibrary(nvrtc.path, 'NVRTC');
  const bind = (prototype: string) => bindFunction(lib, nvrtc.path, prototype);
  const createProgram = bind(
    'int nvrtcCreateProgram(_Out_ void **prog, const char *src, const char *name, int numHeaders, const char **headers, const char **includeNames)',
  );
  const compileProgram = bind(
    'int nvrtcCompileProgram(void *prog, int numOptions, const char **options)',
  );
  const getLogSize = bind('int nvrtcGetProgramLogSize(void *prog, _Out_ size_t *size)');
  const getLog = bind('int nvrtcGetProgramLog(void *prog, _Out_ uint8_t *log)');
  const getCubinSize = bind('int nvrtcGetCUBINSize(void *prog, _Out_ size_t *size)');
  const getCubin = bind('int nvrtcGetCUBIN(void *prog, _Out_ uint8_t *cubin)');
  const destroyProgram = bind('int nvrtcDestroyProgram(_Inout_ void **prog)');
  const errorString = bind('const char *nvrtcGetErrorString(int result)');
  const includeDir = discovery.includeDir;

  const check = (code: number, call: string) => {
    if (code !== 0) throw new NvrtcCompileError(`${call} failed: ${errorString(code) as string}`);
  };

  loaded = {
    version: nvrtc.version,
    path: nvrtc.path,
    includeDir,
    compile(source, fileName, { arch, headers = [], defines = [] }) {
      const prog: unknown[] = [null];
      check(
        createProgram(
          prog,
          source,
          fileName,
          headers.length,
          headers.map((h) => h.source),
          headers.map((h) => h.name),
        ) as number,
        'nvrtcCreateProgram',
      );
      const handle = prog[0];
      try {
        const options = [
          `--gpu-architecture=sm_${arch}`,
          '--std=c++17',
          `-I${includeDir}`,
          ...defines.map((d) => `-D${d}`),
        ];
        const code = compileProgram(handle, options.length, options) as number;
        if (code !== 0) {
          const size = [0];
          getLogSize(handle, size);
          const log = new Uint8Array(Number(size[0]));
          getLog(handle, log);
          const text = new TextDecoder().decode(log).replace(/\0+$/, '').trim();
          throw new NvrtcCompileError(
            `${fileName} (sm_${arch}${defines.length ? `, ${defines.join(' ')}` : ''}): ${errorString(code) as string}\n${text}`,
          );
        }
        const size = [0];
        check(getCubinSize(handle, size) as number, 'nvrtcGetCUBINSize');
        const cubin = new Uint8Array(Number(size[0]));
        check(getCubin(handle, cubin) as number, 'nvrtcGetCUBIN');
        return cubin;
      } finally {
        destroyProgram([handle]);
      }
    },
  };
  return loaded;
}
