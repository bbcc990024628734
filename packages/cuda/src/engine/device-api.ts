/**
 * The slices of the driver, the kernel set and cuBLASLt that the engine uses, as interfaces: the
 * real classes implement them on a GPU; the engine's CPU tests pass an emulation.
 */
import type { CublasLt } from '../libraries/cublaslt.js';
import type { CudaDriver, DevicePtr } from '../libraries/driver.js';
import type { KernelSet } from '../kernels/kernel-set.js';

/** Memory and stream calls. */
export type DeviceMemory = Pick<
  CudaDriver,
  | 'alloc'
  | 'free'
  | 'upload'
  | 'download'
  | 'fill32'
  | 'synchronize'
  | 'destroyStream'
  | 'releasePrimaryContext'
>;

/** Kernel launches. */
export type KernelLauncher = Pick<KernelSet, 'launch' | 'elementwise' | 'dispose'>;

/** GEMMs. */
export type Matmul = Pick<CublasLt, 'matmul' | 'dispose'>;

/** Everything the engine runs on. */
export interface EngineDevice {
  driver: DeviceMemory;
  /** CUdevice whose primary context is current. */
  device: number;
  stream: unknown;
  kernels: KernelLauncher;
  blas: Matmul;
  /** cuBLASLt's workspace (freed with the engine). */
  workspace: DevicePtr;
}
