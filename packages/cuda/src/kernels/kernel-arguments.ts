/**
 * A kernel's `void* kernelParams[]` block in native memory, allocated once per kernel and
 * rewritten in place for each launch: the pointer table comes first (pointing at the value
 * slots after it), then one 8-byte slot per parameter.
 */
import koffi from 'koffi';
import type { ArgKind } from './signatures.js';

/** A launch argument: bigint for pointers and 64-bit integers, number otherwise. */
export type KernelArg = bigint | number;

/** The reusable argument block of one kernel. */
export class KernelArguments {
  /** What cuLaunchKernel takes as kernelParams. */
  readonly pointer: unknown;
  private readonly view: DataView;

  constructor(
    readonly kernel: string,
    readonly kinds: readonly ArgKind[],
  ) {
    const count = kinds.length;
    this.pointer = koffi.alloc('uint8_t', Math.max(16 * count, 16));
    this.view = new DataView(koffi.view(this.pointer, Math.max(16 * count, 16)));
    const base = koffi.address(this.pointer);
    for (let i = 0; i < count; i++)
      this.view.setBigUint64(8 * i, base + BigInt(8 * (count + i)), true);
  }

  /** Writes `args` into the value slots; throws naming the kernel on a count or type mismatch. */
  set(args: readonly KernelArg[]): void {
    if (args.length !== this.kinds.length)
      throw new Error(
        `${this.kernel}: ${args.length} arguments given, it takes ${this.kinds.length}`,
      );
    const first = 8 * this.kinds.length;
    this.kinds.forEach((kind, i) => {
      const at = first + 8 * i;
      const value = args[i]!;
      switch (kind) {
        case 'ptr':
        case 'u64':
        case 'i64':
          this.view.setBigUint64(at, BigInt.asUintN(64, BigInt(value)), true);
          break;
        case 'i32':
          this.view.setInt32(at, Number(value), true);
          break;
        case 'u32':
          this.view.setUint32(at, Number(value) >>> 0, true);
          break;
        case 'f32':
          this.view.setFloat32(at, Number(value), true);
          break;
      }
    });
  }

  /** The bytes of value slot `i` (for tests). */
  slot(i: number): DataView {
    return new DataView(this.view.buffer, 8 * (this.kinds.length + i), 8);
  }

  /** The address the pointer table holds for parameter `i` (for tests). */
  tableEntry(i: number): bigint {
    return this.view.getBigUint64(8 * i, true);
  }

  /** The block's own address (for tests). */
  address(): bigint {
    return koffi.address(this.pointer);
  }

  /** Frees the native block. */
  dispose(): void {
    koffi.free(this.pointer);
  }
}
