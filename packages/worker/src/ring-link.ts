/**
 * One directed edge of the ring: frames go to the right neighbour and come from the left one,
 * in collective order. The ring algorithms (ring-allreduce.ts, ring-collectives.ts) only see
 * this interface; grpc-process-group.ts implements it over gRPC streams and
 * `createMemoryRing` in memory (for tests of the algorithms alone).
 */
import { ProtocolError } from './process-group.js';

/** Collective a frame belongs to (mirrors FrameKind in proto/process_group.proto). */
export type FrameKind = 'FRAME_KIND_ALL_REDUCE' | 'FRAME_KIND_BROADCAST' | 'FRAME_KIND_ALL_GATHER';

/** Payload encoding (mirrors WireFormat in proto/process_group.proto). */
export type WireFormat =
  'WIRE_FORMAT_FP32' | 'WIRE_FORMAT_FP16' | 'WIRE_FORMAT_BF16' | 'WIRE_FORMAT_BYTES';

/** A frame as the ring algorithms see it. */
export interface RingFrame {
  op: number;
  kind: FrameKind;
  step: number;
  piece: number;
  total: number;
  origin: number;
  format: WireFormat;
  payload: Uint8Array;
}

/** The two ends of this rank's ring links. */
export interface RingLink {
  readonly rank: number;
  readonly worldSize: number;
  /** Largest number of payload bytes in one frame (pieces are cut to fit). */
  readonly maxPayloadBytes: number;
  /**
   * Queues a frame for the right neighbour; resolves when it may be reused / more sent. With
   * `spareStage`, the transport keeps a place for `stage` free when it has to wait anyway.
   */
  send(frame: RingFrame, options?: { spareStage?: boolean }): Promise<void>;
  /**
   * Where the transport can take a payload in place (a free shared-memory slot), when it can
   * right now: the caller writes the next frame's payload there and passes the same array to
   * `send`, which then sends it without copying. Undefined when no such place is free, or
   * when no more than `keepFree` are.
   */
  stage?(bytes: number, keepFree?: number): Uint8Array | undefined;
  /**
   * True when the right neighbour reads `bytes` where they are (a registered buffer,
   * registered-buffers.ts): sending them costs no copy, so they need not be staged.
   */
  readsInPlace?(bytes: Uint8Array): boolean;
  /** The next frame from the left neighbour. */
  recv(): Promise<RingFrame>;
}

/** Bytes per element of each wire format. */
export function bytesPerElement(format: WireFormat): number {
  return format === 'WIRE_FORMAT_FP32' ? 4 : format === 'WIRE_FORMAT_BYTES' ? 1 : 2;
}

/** Header fields a received frame must carry (payload length checked separately). */
export type ExpectedFrame = Omit<RingFrame, 'payload' | 'total' | 'origin'> & {
  total?: number;
  origin?: number;
  payloadBytes?: number;
};

/** Checks a received frame against what the collective expects; throws ProtocolError naming the difference. */
export function checkFrame(frame: RingFrame, want: ExpectedFrame, fromRank: number): void {
  const fields = ['op', 'kind', 'step', 'piece', 'total', 'origin', 'format'] as const;
  for (const field of fields) {
    const expected = want[field];
    if (expected !== undefined && frame[field] !== expected)
      throw new ProtocolError(
        `rank ${fromRank} sent a frame with ${field}=${String(frame[field])} where this rank expected ` +
          `${String(expected)} (collective #${want.op}, ${want.kind}); ranks are calling different collectives or sizes`,
      );
  }
  if (want.payloadBytes !== undefined && frame.payload.byteLength !== want.payloadBytes)
    throw new ProtocolError(
      `rank ${fromRank} sent ${frame.payload.byteLength} payload bytes where ${want.payloadBytes} were expected ` +
        `(collective #${want.op}, step ${want.step}, piece ${want.piece})`,
    );
}

/** A fresh copy of `bytes` (Buffer#slice would return a view into a shared pool). */
export function copyBytes(bytes: Uint8Array): Uint8Array {
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return copy;
}

/** A FIFO whose consumers wait for producers; `fail` rejects current and future waits. */
export class FrameQueue {
  private readonly items: RingFrame[] = [];
  private head = 0;
  private waiter: { resolve: (f: RingFrame) => void; reject: (e: Error) => void } | undefined;
  private failure: Error | undefined;

  push(frame: RingFrame): void {
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      w.resolve(frame);
    } else this.items.push(frame);
  }

  shift(): Promise<RingFrame> {
    if (this.head < this.items.length) {
      const frame = this.items[this.head++];
      if (this.head > 1024 && this.head * 2 > this.items.length) {
        this.items.splice(0, this.head);
        this.head = 0;
      }
      return Promise.resolve(frame);
    }
    if (this.failure) return Promise.reject(this.failure);
    if (this.waiter) return Promise.reject(new Error('FrameQueue: concurrent receives'));
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  fail(error: Error): void {
    if (!this.failure) this.failure = error;
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      w.reject(this.failure);
    }
  }

  get pending(): number {
    return this.items.length - this.head;
  }
}

/**
 * `worldSize` in-memory ring links (rank r sends to r+1), for testing the ring algorithms.
 * With `staging`, the links also lend payload buffers (`stage`), on every other call, so
 * that both ways of forwarding a piece run.
 */
export function createMemoryRing(
  worldSize: number,
  maxPayloadBytes: number,
  options: { staging?: boolean } = {},
): RingLink[] {
  const queues = Array.from({ length: worldSize }, () => new FrameQueue());
  return queues.map((inbox, rank) => {
    let stageCalls = 0;
    const link: RingLink = {
      rank,
      worldSize,
      maxPayloadBytes,
      send(frame: RingFrame): Promise<void> {
        if (frame.payload.byteLength > maxPayloadBytes)
          return Promise.reject(
            new RangeError(`frame of ${frame.payload.byteLength} bytes exceeds ${maxPayloadBytes}`),
          );
        // Copy: the sender may overwrite its buffer once send resolves.
        queues[(rank + 1) % worldSize].push({ ...frame, payload: copyBytes(frame.payload) });
        return Promise.resolve();
      },
      recv: () => inbox.shift(),
    };
    if (options.staging)
      link.stage = (bytes) =>
        stageCalls++ % 2 === 0 && bytes <= maxPayloadBytes ? new Uint8Array(bytes) : undefined;
    return link;
  });
}
