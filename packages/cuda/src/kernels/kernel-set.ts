/**
 * Every kernel of the engine loaded on one device: each file compiled (or taken from the cache)
 * for the device's sm_XX and precision, loaded as a module, each entry point with its argument
 * block. `launch` is the one call the layers use.
 */
import type { CudaDriver } from '../libraries/driver.js';
import type { Nvrtc } from '../libraries/nvrtc.js';
import { compileKernelFile } from './compile.js';
import { KernelArguments, type KernelArg } from './kernel-arguments.js';
import type { Precision } from './precision.js';
import { parseKernelSignatures } from './signatures.js';
import {
  KERNEL_FILES,
  kernelDir,
  readKernelSource,
  type KernelFile,
  type KernelName,
} from './sources.js';

interface LoadedKernel {
  fn: unknown;
  args: KernelArguments;
}

/** Threads per block of the grid-stride elementwise kernels. */
export const ELEMENTWISE_BLOCK = 256;

/** The loaded kernels of one device. */
export class KernelSet {
  private readonly kernels = new Map<string, LoadedKernel>();
  private readonly modules: unknown[] = [];

  constructor(
    private readonly driver: CudaDriver,
    nvrtc: Nvrtc,
    arch: number,
    precision: Precision,
    private readonly stream: unknown,
    /** Multiprocessors, to size grid-stride grids. */
    private readonly multiprocessors: number,
  ) {
    const dir = kernelDir();
    for (const file of Object.keys(KERNEL_FILES) as KernelFile[]) {
      const { cubin } = compileKernelFile(nvrtc, file, arch, precision, { sourceDir: dir });
      const module = driver.loadModule(cubin, file);
      this.modules.push(module);
      const signatures = parseKernelSignatures(readKernelSource(file, dir), file);
      for (const name of KERNEL_FILES[file]) {
        const kinds = signatures.get(name);
        if (!kinds) throw new Error(`${file} defines no kernel ${name}`);
        this.kernels.set(name, {
          fn: driver.getFunction(module, name),
          args: new KernelArguments(name, kinds),
        });
      }
    }
  }

  /** Launches `name` on the engine's stream. */
  launch(
    name: KernelName,
    grid: number | [number, number, number],
    block: number | [number, number, number],
    args: readonly KernelArg[],
    sharedBytes = 0,
  ): void {
    const kernel = this.kernels.get(name)!;
    kernel.args.set(args);
    const g: [number, number, number] = typeof grid === 'number' ? [grid, 1, 1] : grid;
    const b: [number, number, number] = typeof block === 'number' ? [block, 1, 1] : block;
    if (sharedBytes > 48 * 1024) this.driver.setMaxDynamicShared(kernel.fn, sharedBytes);
    this.driver.launch(kernel.fn, g, b, sharedBytes, this.stream, kernel.args.pointer, name);
  }

  /** A grid-stride kernel over `n` elements. */
  elementwise(name: KernelName, n: number, args: readonly KernelArg[]): void {
    const blocks = Math.max(
      1,
      Math.min(Math.ceil(n / ELEMENTWISE_BLOCK), this.multiprocessors * 16),
    );
    this.launch(name, blocks, ELEMENTWISE_BLOCK, args);
  }

  /** Unloads the modules and frees the argument blocks. */
  dispose(): void {
    for (const kernel of this.kernels.values()) kernel.args.dispose();
    for (const module of this.modules) this.driver.unloadModule(module);
    this.kernels.clear();
  }
}
