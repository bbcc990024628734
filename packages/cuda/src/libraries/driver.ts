/**
 * CUDA driver API bindings (koffi), by the `_v2` names cuda.h's macros point at: device query,
 * primary context, memory, modules from CUBIN, kernel launches with one reused native argument
 * block per kernel (~160 ns a launch instead of ~1.2 us with JS-built arrays).
 */
import type { CudaDiscovery } from './discovery.js';
import {
  bindFunction,
  type NativeFunction,
  CudaLibraryError,
  loadLibrary,
} from './load-library.js';

/** A driver call that returned an error; the message names the call and CUDA's error name. */
export class CudaDriverError extends Error {
  override readonly name = 'CudaDriverError';
}

/** A device pointer (CUdeviceptr). */
export type DevicePtr = bigint;

/** One GPU as the driver reports it. */
export interface GpuInfo {
  index: number;
  name: string;
  computeCapability: [number, number];
  memoryBytes: number;
}

const CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75;
const CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76;
const CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT = 16;

/** The bound driver API. */
export class CudaDriver {
  readonly path: string;
  private readonly fns: Record<string, NativeFunction>;

  private constructor(path: string, fns: Record<string, NativeFunction>) {
    this.path = path;
    this.fns = fns;
  }

  /** Loads libcuda (the discovered file, else the loader's libcuda.so.1) and calls cuInit. */
  static load(discovery?: CudaDiscovery): CudaDriver {
    const path = discovery?.libraries.driver?.path ?? 'libcuda.so.1';
    const lib = loadLibrary(path, 'the NVIDIA driver (libcuda.so.1)');
    const prototypes: Record<string, string> = {
      cuInit: 'int cuInit(unsigned int flags)',
      cuDriverGetVersion: 'int cuDriverGetVersion(_Out_ int *version)',
      cuDeviceGetCount: 'int cuDeviceGetCount(_Out_ int *count)',
      cuDeviceGet: 'int cuDeviceGet(_Out_ int *device, int ordinal)',
      cuDeviceGetName: 'int cuDeviceGetName(uint8_t *name, int len, int device)',
      cuDeviceGetAttribute: 'int cuDeviceGetAttribute(_Out_ int *value, int attribute, int device)',
      cuDeviceTotalMem: 'int cuDeviceTotalMem_v2(_Out_ size_t *bytes, int device)',
      cuDevicePrimaryCtxRetain: 'int cuDevicePrimaryCtxRetain(_Out_ void **ctx, int device)',
      cuDevicePrimaryCtxRelease: 'int cuDevicePrimaryCtxRelease_v2(int device)',
      cuCtxSetCurrent: 'int cuCtxSetCurrent(void *ctx)',
      cuCtxSynchronize: 'int cuCtxSynchronize()',
      cuStreamCreate: 'int cuStreamCreate(_Out_ void **stream, unsigned int flags)',
      cuStreamDestroy: 'int cuStreamDestroy_v2(void *stream)',
      cuStreamSynchronize: 'int cuStreamSynchronize(void *stream)',
      cuMemAlloc: 'int cuMemAlloc_v2(_Out_ uint64_t *dptr, size_t bytes)',
      cuMemFree: 'int cuMemFree_v2(uint64_t dptr)',
      cuMemcpyHtoD: 'int cuMemcpyHtoD_v2(uint64_t dst, const void *src, size_t bytes)',
      cuMemcpyDtoH: 'int cuMemcpyDtoH_v2(void *dst, uint64_t src, size_t bytes)',
      cuMemcpyDtoD: 'int cuMemcpyDtoD_v2(uint64_t dst, uint64_t src, size_t bytes)',
      cuMemsetD32: 'int cuMemsetD32_v2(uint64_t dst, unsigned int value, size_t count)',
      cuModuleLoadData: 'int cuModuleLoadData(_Out_ void **module, const uint8_t *image)',
      cuModuleUnload: 'int cuModuleUnload(void *module)',
      cuModuleGetFunction:
        'int cuModuleGetFunction(_Out_ void **fn, void *module, const char *name)',
      cuFuncSetAttribute: 'int cuFuncSetAttribute(void *fn, int attribute, int value)',
      cuLaunchKernel:
        'int cuLaunchKernel(void *f, unsigned int gx, unsigned int gy, unsigned int gz, unsigned int bx, unsigned int by, unsigned int bz, unsigned int sharedBytes, void *stream, void *params, void *extra)',
      cuGetErrorName: 'int cuGetErrorName(int error, _Out_ const char **name)',
    };
    const fns: Record<string, NativeFunction> = {};
    for (const [key, prototype] of Object.entries(prototypes))
      fns[key] = bindFunction(lib, path, prototype);
    const driver = new CudaDriver(path, fns);
    driver.check(driver.fns.cuInit!(0) as number, 'cuInit');
    return driver;
  }

  /** Throws a CudaDriverError naming `call` when `code` is not CUDA_SUCCESS. */
  check(code: number, call: string): void {
    if (code === 0) return;
    const name: (string | null)[] = [null];
    this.fns.cuGetErrorName!(code, name);
    throw new CudaDriverError(`${call} failed: ${name[0] ?? 'CUDA error'} (${code})`);
  }

  private call(name: string, ...args: unknown[]): void {
    this.check(this.fns[name]!(...args) as number, name);
  }

  /** "13.0" from cuDriverGetVersion's 13000. */
  driverVersion(): string {
    const out = [0];
    this.call('cuDriverGetVersion', out);
    return `${Math.floor(out[0]! / 1000)}.${(out[0]! % 1000) / 10}`;
  }

  /** Every visible GPU. */
  gpus(): GpuInfo[] {
    const count = [0];
    this.call('cuDeviceGetCount', count);
    const gpus: GpuInfo[] = [];
    for (let index = 0; index < count[0]!; index++) {
      const device = this.device(index);
      const name = new Uint8Array(256);
      this.call('cuDeviceGetName', name, name.length, device);
      const bytes = [0];
      this.call('cuDeviceTotalMem', bytes, device);
      gpus.push({
        index,
        name: new TextDecoder().decode(name.subarray(0, name.indexOf(0))),
        computeCapability: this.computeCapability(device),
        memoryBytes: Number(bytes[0]),
      });
    }
    return gpus;
  }

  /** CUdevice of ordinal `index`. */
  device(index: number): number {
    const out = [0];
    this.call('cuDeviceGet', out, index);
    return out[0]!;
  }

  /** [major, minor], e.g. [9, 0] on an H100. */
  computeCapability(device: number): [number, number] {
    const major = [0];
    const minor = [0];
    this.call('cuDeviceGetAttribute', major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, device);
    this.call('cuDeviceGetAttribute', minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, device);
    return [major[0]!, minor[0]!];
  }

  /** Streaming multiprocessors (grid sizes of the grid-stride kernels). */
  multiprocessors(device: number): number {
    const out = [0];
    this.call('cuDeviceGetAttribute', out, CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, device);
    return out[0]!;
  }

  /** Retains the primary context of `device` and makes it current; returns it. */
  retainPrimaryContext(device: number): unknown {
    const ctx: unknown[] = [null];
    this.call('cuDevicePrimaryCtxRetain', ctx, device);
    this.call('cuCtxSetCurrent', ctx[0]);
    return ctx[0];
  }

  /** Releases what retainPrimaryContext took. */
  releasePrimaryContext(device: number): void {
    this.call('cuDevicePrimaryCtxRelease', device);
  }

  /** A non-default stream. */
  createStream(): unknown {
    const out: unknown[] = [null];
    this.call('cuStreamCreate', out, 0);
    return out[0];
  }

  destroyStream(stream: unknown): void {
    this.call('cuStreamDestroy', stream);
  }

  synchronize(stream: unknown): void {
    this.call('cuStreamSynchronize', stream);
  }

  /** `bytes` of device memory (not initialised). */
  alloc(bytes: number): DevicePtr {
    const out = [0n];
    this.check(
      this.fns.cuMemAlloc!(out, Math.max(bytes, 256)) as number,
      `cuMemAlloc_v2 (${bytes} bytes)`,
    );
    return BigInt(out[0]!);
  }

  free(ptr: DevicePtr): void {
    this.call('cuMemFree', ptr);
  }

  /** Host typed array -> device (synchronous with respect to the host). */
  upload(dst: DevicePtr, src: ArrayBufferView): void {
    this.call('cuMemcpyHtoD', dst, src, src.byteLength);
  }

  /** Device -> host typed array. */
  download(dst: ArrayBufferView, src: DevicePtr): void {
    this.call('cuMemcpyDtoH', dst, src, dst.byteLength);
  }

  copy(dst: DevicePtr, src: DevicePtr, bytes: number): void {
    this.call('cuMemcpyDtoD', dst, src, bytes);
  }

  /** Sets `count` 32-bit words to `value` (0 zeroes floats). */
  fill32(dst: DevicePtr, value: number, count: number): void {
    this.call('cuMemsetD32', dst, value, count);
  }

  /** Loads a CUBIN image. */
  loadModule(cubin: Uint8Array, what: string): unknown {
    const out: unknown[] = [null];
    this.check(this.fns.cuModuleLoadData!(out, cubin) as number, `cuModuleLoadData (${what})`);
    return out[0];
  }

  unloadModule(module: unknown): void {
    this.call('cuModuleUnload', module);
  }

  getFunction(module: unknown, name: string): unknown {
    const out: unknown[] = [null];
    this.check(
      this.fns.cuModuleGetFunction!(out, module, name) as number,
      `cuModuleGetFunction(${name})`,
    );
    return out[0];
  }

  /** Allows `bytes` of dynamic shared memory (above 48 KiB needs the opt-in). */
  setMaxDynamicShared(fn: unknown, bytes: number): void {
    const CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES = 8;
    this.call('cuFuncSetAttribute', fn, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, bytes);
  }

  /** cuLaunchKernel with a prepared `void*[]` argument block (see KernelArguments). */
  launch(
    fn: unknown,
    grid: [number, number, number],
    block: [number, number, number],
    sharedBytes: number,
    stream: unknown,
    params: unknown,
    name: string,
  ): void {
    this.check(
      this.fns.cuLaunchKernel!(fn, ...grid, ...block, sharedBytes, stream, params, null) as number,
      `cuLaunchKernel(${name})`,
    );
  }
}

/** Loads the driver, or says in one line why not (for `discoverCuda`'s report). */
export function probeDriver(
  discovery?: CudaDiscovery,
): { driver: CudaDriver; version: string; gpus: GpuInfo[] } | { error: string } {
  try {
    const driver = CudaDriver.load(discovery);
    return { driver, version: driver.driverVersion(), gpus: driver.gpus() };
  } catch (error) {
    if (error instanceof CudaLibraryError || error instanceof CudaDriverError)
      return { error: error.message };
    throw error;
  }
}
