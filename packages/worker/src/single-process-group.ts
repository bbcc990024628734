/**
 * The ProcessGroup of a world of one: every collective is the identity (no gRPC, no server),
 * so scripts run the same code path alone and in a group. Objects still make the JSON round
 * trip, so a value that cannot cross the wire fails here too.
 */
import type { JsonValue } from '@ner-launch/common';
import {
  ProcessGroupError,
  decodeObject,
  encodeObject,
  type AllReduceOptions,
  type ProcessGroup,
  type ReduceOp,
} from './process-group.js';

/** World size 1: rank 0 alone. */
export class SingleProcessGroup implements ProcessGroup {
  readonly rank = 0;
  readonly worldSize = 1;
  private closed = false;

  private check(root = 0): void {
    if (this.closed) throw new ProcessGroupError('collective on a closed process group');
    if (root !== 0) throw new RangeError(`root rank ${root} is outside 0..0`);
  }

  allReduce(
    data: Float32Array,
    _op?: ReduceOp,
    _options?: AllReduceOptions,
  ): Promise<Float32Array> {
    this.check();
    return Promise.resolve(data);
  }

  allocateBuffer(length: number): Float32Array {
    return new Float32Array(length);
  }

  releaseBuffer(): void {}

  broadcast<T extends Float32Array | Uint8Array>(data: T, root = 0): Promise<T> {
    this.check(root);
    return Promise.resolve(data);
  }

  allGather(data: Float32Array): Promise<Float32Array[]> {
    this.check();
    return Promise.resolve([data]);
  }

  allGatherBytes(data: Uint8Array): Promise<Uint8Array[]> {
    this.check();
    return Promise.resolve([data]);
  }

  broadcastObject<T extends JsonValue>(value: T | undefined, root = 0): Promise<T> {
    this.check(root);
    return Promise.resolve(decodeObject<T>(encodeObject(value), 0));
  }

  gatherObject<T extends JsonValue>(value: T): Promise<T[]> {
    this.check();
    return Promise.resolve([decodeObject<T>(encodeObject(value), 0)]);
  }

  barrier(): Promise<void> {
    this.check();
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }

  abort(): Promise<void> {
    return this.close();
  }
}
