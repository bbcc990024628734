/**
 * NCCL bindings (koffi): a communicator from a 128-byte ncclUniqueId passed by value (the id
 * travels between ranks through the launcher's rendezvous) and in-place all-reduce of device
 * buffers. NCCL refuses two ranks on one GPU; the host ring is the fallback there.
 */
import koffi, { type TypeObject } from 'koffi';
import type { DevicePtr } from './driver.js';
import type { CudaDiscovery } from './discovery.js';
import {
  bindFunction,
  type NativeFunction,
  CudaLibraryError,
  loadLibrary,
} from './load-library.js';

const NCCL_FLOAT32 = 7;
const NCCL_SUM = 0;
const NCCL_AVG = 4;
/** Bytes of an ncclUniqueId (NCCL_UNIQUE_ID_BYTES). */
export const NCCL_UNIQUE_ID_BYTES = 128;

let uniqueIdType: TypeObject | undefined;

function bindNccl(discovery: CudaDiscovery): Record<string, NativeFunction> {
  const found = discovery.libraries.nccl;
  if (!found)
    throw new CudaLibraryError(
      `NCCL not found: looked for libnccl.so.2 in ${discovery.searched.join(':')}`,
    );
  const lib = loadLibrary(found.path, 'NCCL');
  uniqueIdType ??= koffi.struct('ncclUniqueId', {
    internal: koffi.array('uint8_t', NCCL_UNIQUE_ID_BYTES),
  });
  const prototypes: Record<string, string> = {
    getUniqueId: 'int ncclGetUniqueId(_Out_ ncclUniqueId *id)',
    initRank: 'int ncclCommInitRank(_Out_ void **comm, int nranks, ncclUniqueId id, int rank)',
    allReduce:
      'int ncclAllReduce(uint64_t send, uint64_t recv, size_t count, int datatype, int op, void *comm, void *stream)',
    destroy: 'int ncclCommDestroy(void *comm)',
    errorString: 'const char *ncclGetErrorString(int result)',
    version: 'int ncclGetVersion(_Out_ int *version)',
  };
  const fns: Record<string, NativeFunction> = {};
  for (const [key, prototype] of Object.entries(prototypes))
    fns[key] = bindFunction(lib, found.path, prototype);
  return fns;
}

/** A new unique id (rank 0 makes it and sends it to the others). */
export function ncclUniqueId(discovery: CudaDiscovery): Uint8Array {
  const fns = bindNccl(discovery);
  const out = [{ internal: new Uint8Array(NCCL_UNIQUE_ID_BYTES) }];
  const code = fns.getUniqueId!(out) as number;
  if (code !== 0) throw new Error(`ncclGetUniqueId failed: ${fns.errorString!(code) as string}`);
  return Uint8Array.from(out[0]!.internal as ArrayLike<number>);
}

/** One rank's NCCL communicator. */
export class NcclComm {
  private readonly fns: Record<string, NativeFunction>;
  private readonly comm: unknown;

  /** Joins the group of `worldSize` ranks identified by `id` (blocks until all have joined). */
  constructor(
    discovery: CudaDiscovery,
    id: Uint8Array,
    readonly rank: number,
    readonly worldSize: number,
  ) {
    if (id.length !== NCCL_UNIQUE_ID_BYTES)
      throw new Error(`ncclUniqueId must be ${NCCL_UNIQUE_ID_BYTES} bytes, got ${id.length}`);
    this.fns = bindNccl(discovery);
    const out: unknown[] = [null];
    this.check(
      this.fns.initRank!(out, worldSize, { internal: Array.from(id) }, rank),
      'ncclCommInitRank',
    );
    this.comm = out[0];
  }

  private check(code: unknown, call: string): void {
    if (code !== 0) throw new Error(`${call} failed: ${this.fns.errorString!(code) as string}`);
  }

  /** In-place all-reduce of `count` floats at `buffer` on `stream`: sum, or mean over ranks. */
  allReduceFloat32(buffer: DevicePtr, count: number, op: 'sum' | 'mean', stream: unknown): void {
    this.check(
      this.fns.allReduce!(
        buffer,
        buffer,
        count,
        NCCL_FLOAT32,
        op === 'mean' ? NCCL_AVG : NCCL_SUM,
        this.comm,
        stream,
      ),
      'ncclAllReduce',
    );
  }

  /** Frees the communicator. */
  dispose(): void {
    this.fns.destroy!(this.comm);
  }
}
