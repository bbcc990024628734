/**
 * Registered buffers, as NCCL's user-buffer registration: arrays a rank allocates in shared
 * memory (shared-memory.ts) and announces to its right neighbour on the same machine, which
 * maps them read-only. A frame whose payload lies in one then carries only its place, and the
 * neighbour reduces or copies straight from the sender's array. Why: otherwise every piece a
 * rank sends is first copied into a shared slot (shared-slots.ts), and every sum it forwards is
 * written there too; without those copies each rank's CPU time per all-reduce of 64 MB over two
 * local processes fell by a third, 0.032 -> 0.021 s (bench/results/allreduce-registered.json).
 * The sender must not change a referenced piece before the neighbour read it: each payload read
 * in place is answered with a credit, and the data plane's `flush` (the end of every collective)
 * waits for all of them. Inside a ring all-reduce the ring's order guarantees it anyway: a rank
 * overwrites a piece it sent only with the finished sum, which reaches it after its right
 * neighbour processed the piece.
 */
import { ProtocolError } from './process-group.js';
import type { SharedMemory, SharedRegion } from './shared-memory.js';
import { REGISTERED_CREDITS, creditWord } from './shared-slots.js';
import { MAX_REGION_ID } from './stream-frames.js';

/** Credit: one payload read in place from a registered buffer is no longer read. */
export const CREDIT_REFERENCE_READ = REGISTERED_CREDITS;
/** Credit base: the receiver mapped registered buffer `word - REGION_MAPPED`. */
const REGION_MAPPED = REGISTERED_CREDITS + MAX_REGION_ID;
/** Credit base: the receiver could not map registered buffer `word - REGION_DECLINED`. */
const REGION_DECLINED = REGISTERED_CREDITS + 2 * MAX_REGION_ID;

/** The credit answering the announcement of `region`. */
export function regionAnswer(region: number, mapped: boolean): Uint8Array {
  return creditWord((mapped ? REGION_MAPPED : REGION_DECLINED) + region);
}

/** The credit saying one payload read in place is done with. */
export function referenceReadCredit(): Uint8Array {
  return creditWord(CREDIT_REFERENCE_READ);
}

interface OwnBuffer {
  id: number;
  region: SharedRegion;
  /** Set until the neighbour answered (the file's name, removed then). */
  name: string | undefined;
  mapped: boolean;
}

/** Sender side: this rank's registered buffers and the payloads the neighbour still reads. */
export class RegisteredBuffers {
  private readonly byMemory = new Map<ArrayBuffer, OwnBuffer>();
  private readonly byId = new Map<number, OwnBuffer>();
  private nextId = 0;
  private unread = 0;
  private allRead: (() => void) | undefined;

  constructor(
    private readonly shm: SharedMemory,
    private readonly peer: number,
  ) {}

  /**
   * A Float32Array of `length` elements in a fresh shared region, with the region's id and the
   * name to announce; throws when the region cannot be made (e.g. a full /dev/shm).
   */
  allocate(length: number): { array: Float32Array; id: number; name: string } {
    if (this.nextId >= MAX_REGION_ID) throw new RangeError('too many registered buffers');
    const { name, region } = this.shm.create(length * 4);
    const own: OwnBuffer = { id: this.nextId++, region, name, mapped: false };
    this.byMemory.set(region.bytes.buffer as ArrayBuffer, own);
    this.byId.set(own.id, own);
    const array = new Float32Array(region.bytes.buffer, region.bytes.byteOffset, length);
    return { array, id: own.id, name };
  }

  /** Where `payload` lies, when it is inside a buffer the neighbour has mapped. */
  locate(payload: Uint8Array): { region: number; offset: number } | undefined {
    const own = this.byMemory.get(payload.buffer as ArrayBuffer);
    if (!own?.mapped) return undefined;
    return { region: own.id, offset: payload.byteOffset - own.region.bytes.byteOffset };
  }

  /** Counts a payload sent by reference; the neighbour answers with CREDIT_REFERENCE_READ. */
  referenceSent(): void {
    this.unread++;
  }

  /** Interprets a credit word about registered buffers. */
  onCredit(word: number): void {
    if (word === CREDIT_REFERENCE_READ) {
      if (this.unread === 0)
        throw new ProtocolError(
          `rank ${this.peer} said it read a registered buffer's payload that this rank never sent`,
        );
      if (--this.unread === 0) this.allRead?.();
      return;
    }
    const mapped = word < REGION_DECLINED;
    const own = this.byId.get(word - (mapped ? REGION_MAPPED : REGION_DECLINED));
    if (word < REGION_MAPPED || word >= REGION_DECLINED + MAX_REGION_ID || !own?.name)
      throw new ProtocolError(
        `rank ${this.peer} answered for a registered buffer this rank did not announce (credit 0x${word.toString(16)})`,
      );
    this.shm.remove(own.name);
    own.name = undefined;
    own.mapped = mapped;
  }

  /** Resolves once the neighbour read every payload sent by reference so far. */
  whenAllRead(): Promise<void> {
    if (this.unread === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const previous = this.allRead;
      this.allRead = () => {
        this.allRead = undefined;
        previous?.();
        resolve();
      };
    });
  }

  /**
   * Forgets `array` and unmaps it; returns its id for the withdrawal (undefined when it is not
   * registered here). The caller must not touch `array` afterwards.
   */
  release(array: ArrayBufferView): number | undefined {
    const own = this.byMemory.get(array.buffer as ArrayBuffer);
    if (!own) return undefined;
    this.byMemory.delete(array.buffer as ArrayBuffer);
    this.byId.delete(own.id);
    if (own.name) this.shm.remove(own.name);
    // A later turn: a synchronous copy out of it may still be on the stack.
    setImmediate(() => own.region.unmap());
    return own.id;
  }

  /**
   * The group is gone: names are removed, but the arrays stay mapped (their owner may still
   * hold them; the memory goes with the process or with `release`).
   */
  close(): void {
    for (const own of this.byId.values()) if (own.name) this.shm.remove(own.name);
    for (const own of this.byId.values()) own.name = undefined;
    this.unread = 0;
    this.allRead?.();
  }
}

/** Receiver side: the left neighbour's registered buffers, mapped read-only. */
export class PeerBuffers {
  private readonly regions = new Map<number, SharedRegion>();
  private readonly memory = new Set<ArrayBuffer>();

  constructor(
    private readonly shm: SharedMemory | undefined,
    private readonly peer: number,
  ) {}

  /** Maps the announced buffer (and removes its name); returns the answer to send. */
  map(region: number, name: string, bytes: number): Uint8Array {
    if (this.regions.has(region))
      throw new ProtocolError(`rank ${this.peer} announced registered buffer ${region} twice`);
    if (!this.shm) return regionAnswer(region, false);
    try {
      const mapped = this.shm.open(name, bytes);
      this.shm.remove(name);
      this.regions.set(region, mapped);
      this.memory.add(mapped.bytes.buffer as ArrayBuffer);
      return regionAnswer(region, true);
    } catch {
      return regionAnswer(region, false);
    }
  }

  /** The `bytes` bytes at `offset` of buffer `region`; throws ProtocolError when they are not all inside it. */
  view(region: number, offset: number, bytes: number): Uint8Array {
    const mapped = this.regions.get(region);
    if (!mapped || offset + bytes > mapped.bytes.byteLength)
      throw new ProtocolError(
        `rank ${this.peer} placed a payload at bytes ${offset}..${offset + bytes} of registered buffer ${region}, ` +
          (mapped ? `which holds ${mapped.bytes.byteLength} bytes` : 'which it never announced'),
      );
    return mapped.bytes.subarray(offset, offset + bytes);
  }

  /** True when `payload` is a view into one of the neighbour's buffers. */
  holds(payload: Uint8Array): boolean {
    return this.memory.has(payload.buffer as ArrayBuffer);
  }

  /** The neighbour withdrew buffer `region`. */
  forget(region: number): void {
    const mapped = this.regions.get(region);
    if (!mapped)
      throw new ProtocolError(
        `rank ${this.peer} withdrew registered buffer ${region}, which it never announced`,
      );
    this.regions.delete(region);
    this.memory.delete(mapped.bytes.buffer as ArrayBuffer);
    setImmediate(() => mapped.unmap());
  }

  /** Unmaps every buffer (on a later turn: a copy out of one may still be on the stack). */
  close(): void {
    const all = [...this.regions.values()];
    this.regions.clear();
    this.memory.clear();
    setImmediate(() => all.forEach((region) => region.unmap()));
  }
}
