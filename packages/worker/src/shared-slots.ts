/**
 * The slots of a data link's shared memory (shared-memory.ts): the sending rank copies a
 * payload into a free slot and sends only the header over the socket, naming the slot; the
 * receiving rank hands the slot's bytes to the collective and, once it has moved on, gives
 * the slot back with a 4-byte credit on the same socket's other direction.
 * Credits are u32 little-endian words: a slot index, one of the two answers to the offer, or
 * (from REGISTERED_CREDITS up) a word about registered buffers (registered-buffers.ts).
 */
import { ProtocolError } from './process-group.js';
import type { SharedRegion } from './shared-memory.js';

/** The receiver mapped the offered region: slots may be used from now on. */
export const CREDIT_MAPPED = 0xffffffff;
/** The receiver could not map it: payloads stay on the socket. */
export const CREDIT_DECLINED = 0xfffffffe;
/** Credit words from here up (but the two answers above) are about registered buffers. */
export const REGISTERED_CREDITS = 0x80000000;
/** Slots per link: enough to keep copying, reading and adding in flight at once. */
export const SLOTS_PER_LINK = 4;

/** A credit as it goes on the wire: one u32 little-endian word. */
export function creditWord(word: number): Uint8Array {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setUint32(0, word, true);
  return bytes;
}

/** Sender side: which slots the receiver has given back. */
export class SlotWriter {
  private readonly free: number[] = [];
  private waiter: { keepFree: number; resolve: (slot: number) => void } | undefined;
  private partial = new Uint8Array(0);
  private mapped = false;

  constructor(
    readonly region: SharedRegion,
    readonly count: number,
    readonly slotBytes: number,
    private readonly peer: number,
  ) {
    for (let s = count - 1; s >= 0; s--) this.free.push(s);
  }

  /** True once the receiver confirmed the mapping. */
  get usable(): boolean {
    return this.mapped;
  }

  /** The bytes of slot `slot`. */
  slot(slot: number, bytes: number): Uint8Array {
    return this.region.bytes.subarray(slot * this.slotBytes, slot * this.slotBytes + bytes);
  }

  /** A slot that is free right now, if more than `keepFree` are (never waits). */
  tryAcquire(keepFree = 0): number | undefined {
    // A waiter without `keepFree` only waits while none is free.
    return this.free.length > keepFree ? this.free.pop() : undefined;
  }

  /**
   * A free slot, at once or once the receiver gives one back (one caller at a time); with
   * `keepFree`, only once more than that many are free (they stay for `tryAcquire`).
   */
  acquire(keepFree = 0): number | Promise<number> {
    if (this.free.length > keepFree) return this.free.pop()!;
    return new Promise((resolve) => (this.waiter = { keepFree, resolve }));
  }

  /**
   * Interprets credit bytes from the receiver; returns 'declined' when it refused the region.
   * Words about registered buffers go to `registered`. Throws ProtocolError for a slot it was
   * never lent.
   */
  onCredits(chunk: Uint8Array, registered: (word: number) => void): 'declined' | undefined {
    let bytes = chunk;
    if (this.partial.length > 0) {
      bytes = new Uint8Array(this.partial.length + chunk.length);
      bytes.set(this.partial);
      bytes.set(chunk, this.partial.length);
    }
    const whole = bytes.length - (bytes.length % 4);
    const view = new DataView(bytes.buffer, bytes.byteOffset, whole);
    let answer: 'declined' | undefined;
    for (let at = 0; at < whole; at += 4) {
      const word = view.getUint32(at, true);
      if (word === CREDIT_MAPPED) this.mapped = true;
      else if (word === CREDIT_DECLINED) answer = 'declined';
      else if (word >= REGISTERED_CREDITS) registered(word);
      else this.release(word);
    }
    this.partial = bytes.slice(whole);
    return answer;
  }

  private release(slot: number): void {
    if (!this.mapped || slot >= this.count || this.free.includes(slot))
      throw new ProtocolError(
        `rank ${this.peer} gave back shared slot ${slot}, which it did not hold`,
      );
    this.free.push(slot);
    const waiter = this.waiter;
    if (waiter && this.free.length > waiter.keepFree) {
      this.waiter = undefined;
      waiter.resolve(this.free.pop()!);
    }
  }
}

/** Receiver side: the sender's region, and the slots this rank holds until the collective moves on. */
export class SlotReader {
  private readonly held = new Set<number>();

  constructor(
    readonly region: SharedRegion,
    readonly count: number,
    readonly slotBytes: number,
    private readonly peer: number,
  ) {}

  /** The payload of a frame announced in `slot`; throws ProtocolError for an impossible one. */
  take(slot: number, bytes: number): Uint8Array {
    if (slot >= this.count || bytes > this.slotBytes)
      throw new ProtocolError(
        `rank ${this.peer} announced ${bytes} bytes in shared slot ${slot} (it has ${this.count} slots of ${this.slotBytes} bytes)`,
      );
    if (this.held.has(slot))
      throw new ProtocolError(
        `rank ${this.peer} reused shared slot ${slot} before this rank gave it back`,
      );
    this.held.add(slot);
    return this.region.bytes.subarray(slot * this.slotBytes, slot * this.slotBytes + bytes);
  }

  /** Gives `slot` back; returns the credit word to send. */
  release(slot: number): Uint8Array {
    this.held.delete(slot);
    return creditWord(slot);
  }
}
