/**
 * The collective-communication interface every ner-launch worker uses, whether it runs alone
 * (single-process-group.ts) or as one of N processes over gRPC (grpc-process-group.ts), and
 * the typed errors its operations fail with.
 */
import { OperationalError, type JsonValue } from '@ner-launch/common';

/** Reduction applied by `allReduce`. */
export type ReduceOp = 'sum' | 'mean';

/** Element format on the wire; fp16/bf16 halve traffic at the cost of precision. */
export type WireDType = 'fp32' | 'fp16' | 'bf16';

/** Options of `allReduce`. */
export interface AllReduceOptions {
  wire?: WireDType;
  /** Largest piece in bytes (default and cap: the group's frame payload cap); equal on every rank. Tests force small pieces with it. */
  pieceBytes?: number;
}

/** A group of `worldSize` processes that run the same collectives in the same order. */
export interface ProcessGroup {
  /** Global rank of this process, 0..worldSize-1. */
  readonly rank: number;
  readonly worldSize: number;
  /** Reduces `data` element-wise over all ranks, in place; every rank ends bit-identical. */
  allReduce(data: Float32Array, op?: ReduceOp, options?: AllReduceOptions): Promise<Float32Array>;
  /**
   * An array this group's collectives read in place, with no copy into a transport buffer
   * (NCCL's registered user buffers): shared memory with the neighbour on this machine, where
   * there is one and /dev/shm has room; otherwise a plain array. Valid until `releaseBuffer`.
   */
  allocateBuffer(length: number): Float32Array;
  /** Gives back an array from `allocateBuffer` (no collective may be using it; it must not be touched afterwards). */
  releaseBuffer(buffer: Float32Array): void;
  /** Copies `root`'s `data` into every rank's `data` (same length everywhere), in place. */
  broadcast<T extends Float32Array | Uint8Array>(data: T, root?: number): Promise<T>;
  /** Every rank's array (lengths may differ), indexed by rank. */
  allGather(data: Float32Array): Promise<Float32Array[]>;
  /** Every rank's bytes (lengths may differ), indexed by rank. */
  allGatherBytes(data: Uint8Array): Promise<Uint8Array[]>;
  /** `root`'s value on every rank (JSON round trip). */
  broadcastObject<T extends JsonValue>(value: T | undefined, root?: number): Promise<T>;
  /** Every rank's value, indexed by rank, on every rank (JSON round trip). */
  gatherObject<T extends JsonValue>(value: T): Promise<T[]>;
  /** Resolves once every rank has entered the barrier. */
  barrier(): Promise<void>;
  /** Leaves the group cleanly (a barrier first); later calls fail. */
  close(): Promise<void>;
  /**
   * Leaves the group because this rank failed (`reason`: its error): every peer is told at
   * once, naming this rank, so none waits for the collective timeout; no barrier.
   */
  abort(reason: string): Promise<void>;
}

/** Base class of the process-group errors, so callers can tell them from their own bugs. */
export class ProcessGroupError extends OperationalError {}

/** Not all ranks joined the rendezvous in time. */
export class RendezvousTimeoutError extends ProcessGroupError {
  constructor(
    message: string,
    /** Ranks that never joined (empty when unknown, e.g. the coordinator itself is missing). */
    readonly missingRanks: number[],
  ) {
    super(message);
  }
}

/** The rendezvous coordinator refused this worker (token, rank, world size, extra joiner). */
export class RendezvousRefusedError extends ProcessGroupError {}

/** A collective did not complete within the collective timeout. */
export class CollectiveTimeoutError extends ProcessGroupError {
  constructor(
    message: string,
    /** Peers that did not answer a liveness probe when the timeout struck. */
    readonly unresponsiveRanks: number[],
  ) {
    super(message);
  }
}

/** A peer's connection dropped (process died, network failure) or a peer aborted. */
export class PeerLostError extends ProcessGroupError {
  constructor(
    message: string,
    readonly lostRank: number,
  ) {
    super(message);
  }
}

/** A peer sent something that does not fit the collective in progress (never evaluated). */
export class ProtocolError extends ProcessGroupError {}

/** Largest JSON text accepted by broadcastObject/gatherObject, per rank. */
export const MAX_OBJECT_BYTES = 64 * 1024 * 1024;

/** JSON-encodes `value` for the wire, refusing what JSON cannot carry faithfully. */
export function encodeObject(value: JsonValue | undefined): Uint8Array {
  const text = JSON.stringify(value ?? null);
  const bytes = new TextEncoder().encode(text);
  if (bytes.byteLength > MAX_OBJECT_BYTES)
    throw new RangeError(
      `object of ${bytes.byteLength} bytes exceeds the ${MAX_OBJECT_BYTES}-byte cap of broadcastObject/gatherObject`,
    );
  return bytes;
}

/** Decodes a peer's JSON bytes (JSON.parse only: data is never evaluated). */
export function decodeObject<T>(bytes: Uint8Array, fromRank: number): T {
  if (bytes.byteLength > MAX_OBJECT_BYTES)
    throw new ProtocolError(
      `rank ${fromRank} sent an object of ${bytes.byteLength} bytes (cap ${MAX_OBJECT_BYTES})`,
    );
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes)) as T;
  } catch (error) {
    throw new ProtocolError(`rank ${fromRank} sent malformed JSON: ${(error as Error).message}`);
  }
}
