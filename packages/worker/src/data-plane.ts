/**
 * The data plane of the process group: one long-lived byte stream from each rank to its right
 * neighbour, carrying the bulk collectives (all-reduce, broadcast) as length-prefixed frames
 * (stream-frames.ts). gRPC stays the control plane (rendezvous, liveness, abort notices).
 * Why it is fast: a frame is a 40-byte header plus the array's own bytes handed to the kernel
 * in one writev (no protobuf, no copy), and the receiver reads each payload straight into a
 * recycled buffer sized to it (no per-read allocation, no reassembly copy).
 * Transport: a Unix domain socket when both ranks share a machine (Linux: an abstract name,
 * nothing on disk), else TCP. The receiving rank dials its left neighbour; both prove the run
 * token with HMAC-SHA256 over fresh nonces before any frame flows. Over a Unix socket the
 * sender then offers a shared-memory region (shared-memory.ts, shared-slots.ts): large
 * payloads go through its slots and only their headers through the socket; payloads that lie
 * in a registered buffer (registered-buffers.ts) are read by the receiver where they are.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { unlink } from 'node:fs/promises';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { log } from '@ner-launch/common';
import { PeerLostError, ProcessGroupError, ProtocolError } from './process-group.js';
import { PeerBuffers, RegisteredBuffers, referenceReadCredit } from './registered-buffers.js';
import { FrameQueue, type RingFrame, type RingLink } from './ring-link.js';
import { sharedMemory, type SharedMemory } from './shared-memory.js';
import {
  CREDIT_DECLINED,
  CREDIT_MAPPED,
  SLOTS_PER_LINK,
  SlotReader,
  SlotWriter,
  creditWord,
} from './shared-slots.js';
import {
  FRAME_HEADER_BYTES,
  LOCATOR_BYTES,
  decodeHeader,
  decodeLocator,
  encodeHeader,
  encodeRegionAnnouncement,
  encodeRegionFreed,
  encodeRegionReference,
  encodeSharedMemoryOffer,
  type FrameHeader,
} from './stream-frames.js';

/** Default largest data-plane frame payload (4 MiB): big enough that per-frame costs vanish. */
export const DEFAULT_DATA_PAYLOAD_BYTES = 4 << 20;

/** Where a rank's data plane accepts its right neighbour. */
export interface DataEndpoint {
  host: string;
  port: number;
  /** Unix socket (Linux: abstract name starting with NUL); tried first, TCP when it fails. */
  socket: string;
}

/** How to start a data plane. */
export interface DataPlaneOptions {
  rank: number;
  worldSize: number;
  token: string;
  /** Address the TCP listener binds to (the one advertised to the peers). */
  host: string;
  maxPayloadBytes: number;
  /** Called once with the first failure of a link (the group fails and tells its peers). */
  onFailure: (error: Error) => void;
}

const GREETING = Buffer.from('NERDP1\0\0');
const NONCE_BYTES = 16;
const MAC_BYTES = 32;
const CHALLENGE_BYTES = GREETING.length + NONCE_BYTES;
const HELLO_BYTES = 8 + NONCE_BYTES + MAC_BYTES;
/** An accepted connection that has not proved the token by then is dropped. */
const HANDSHAKE_TIMEOUT_MS = 15_000;
/** Bytes queued in the socket before `send` waits for the kernel to take them. */
const QUEUED_FRAMES = 2;
/** Recycled payload buffers kept for reuse. */
const POOL_SIZE = 8;
/** Payloads up to this size get their own small buffer instead of a pooled one, and stay on the socket when shared slots exist. */
const SMALL_PAYLOAD = 64 * 1024;
/** Most shared slots a peer may offer. */
const MAX_OFFERED_SLOTS = 64;

function mac(
  token: string,
  role: string,
  sNonce: Buffer,
  cNonce: Buffer,
  from: number,
  to: number,
) {
  return createHmac('sha256', token)
    .update(`ner-launch data plane ${role} ${from}->${to}:`)
    .update(sNonce)
    .update(cNonce)
    .digest();
}

type Deferred<T> = { promise: Promise<T>; resolve: (v: T) => void; reject: (e: Error) => void };
function deferred<T>(): Deferred<T> {
  let resolve!: (v: T) => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

/** This rank's two data links (to the right, from the left) as a RingLink. */
export class DataPlane implements RingLink {
  readonly maxPayloadBytes: number;
  private readonly servers: Server[] = [];
  private endpointValue: DataEndpoint | undefined;
  private socketPath = '';
  private transportValue = 'not connected';
  /** Our accepted connection from the right neighbour: we write frames to it. */
  private outgoing: Socket | undefined;
  private readonly outgoingOpen = deferred<void>();
  /** Our connection to the left neighbour: frames arrive on it. */
  private incoming: Socket | undefined;
  private readonly incomingOpen = deferred<void>();
  private readonly leftEnded = deferred<void>();
  private readonly inbox = new FrameQueue();
  private failure: Error | undefined;
  private readonly failed = deferred<never>();
  private lastWrite: Promise<void> = Promise.resolve();
  private closing = false;
  // Reader state: bytes of `target` are filled by the kernel, then `advance` interprets them.
  private phase:
    'challenge' | 'proof' | 'header' | 'payload' | 'offer' | 'region' | 'locator' | 'discard' =
    'challenge';
  private target: Uint8Array = new Uint8Array(CHALLENGE_BYTES);
  private filled = 0;
  private readonly header = new Uint8Array(FRAME_HEADER_BYTES);
  private frame: Omit<RingFrame, 'payload'> | undefined;
  private clientNonce = randomBytes(NONCE_BYTES);
  private serverNonce = Buffer.alloc(0);
  private goodbye = false;
  private readonly pool: Uint8Array[] = [];
  private lent: Uint8Array | undefined;
  /** Shared slots our payloads go through to the right neighbour, once it mapped them. */
  private writer: SlotWriter | undefined;
  private offeredName: string | undefined;
  /** A slot `stage` lent for the next frame's payload, written in place by the collective. */
  private staged: { slot: number; payload: Uint8Array } | undefined;
  /** The left neighbour's shared slots, and the one whose payload `recv` last handed out. */
  private reader: SlotReader | undefined;
  private lentSlot: number | undefined;
  private offer: Extract<FrameHeader, { kind: 'SHARED_MEMORY' }> | undefined;
  /** This rank's registered buffers, once the right neighbour mapped our shared slots. */
  private registered: RegisteredBuffers | undefined;
  /** The left neighbour's registered buffers; whether `recv` last handed out a payload in one. */
  private readonly peerBuffers: PeerBuffers;
  private lentReference = false;
  private warnedUnregistered = false;
  /** Payload bytes of the frame whose locator is being read. */
  private referenceBytes = 0;
  private announced: Extract<FrameHeader, { kind: 'REGION' }> | undefined;

  private constructor(
    private readonly options: DataPlaneOptions,
    private readonly shm: SharedMemory | undefined,
  ) {
    this.maxPayloadBytes = options.maxPayloadBytes;
    this.peerBuffers = new PeerBuffers(shm, this.left);
  }

  get rank(): number {
    return this.options.rank;
  }

  get worldSize(): number {
    return this.options.worldSize;
  }

  private get right(): number {
    return (this.rank + 1) % this.worldSize;
  }

  private get left(): number {
    return (this.rank - 1 + this.worldSize) % this.worldSize;
  }

  /** Starts the listeners (TCP on `host`, and a Unix socket); returns once both listen. */
  static async listen(options: DataPlaneOptions): Promise<DataPlane> {
    const plane = new DataPlane(options, await sharedMemory());
    try {
      await plane.startServers();
    } catch (error) {
      plane.destroy();
      throw error;
    }
    return plane;
  }

  /** How frames from the left neighbour travel: 'unix socket' or 'tcp'. */
  get transport(): string {
    return this.transportValue;
  }

  /** Where the right neighbour dials this rank. */
  get endpoint(): DataEndpoint {
    return this.endpointValue!;
  }

  private async startServers(): Promise<void> {
    const { servers, endpoint, socketPath } = await listenEndpoint(this.options.host, (s) =>
      this.accept(s),
    );
    this.servers.push(...servers);
    this.socketPath = socketPath;
    this.endpointValue = endpoint;
  }

  /** The right neighbour dialled in: it gets our frames once it proved the token. */
  private accept(socket: Socket): void {
    socket.setNoDelay(true);
    const who = `${socket.remoteAddress ?? 'unix socket'}`;
    if (this.outgoing || this.closing) {
      socket.destroy();
      return;
    }
    const serverNonce = randomBytes(NONCE_BYTES);
    socket.write(Buffer.concat([GREETING, serverNonce]));
    let hello = Buffer.alloc(0);
    const refuse = (why: string): void => {
      log.warn(`data plane of rank ${this.rank}: refused a connection from ${who}: ${why}`);
      socket.destroy();
    };
    const timer = setTimeout(() => refuse('no valid hello in time'), HANDSHAKE_TIMEOUT_MS);
    timer.unref();
    socket.on('error', () => undefined);
    const onData = (chunk: Buffer): void => {
      hello = Buffer.concat([hello, chunk]);
      if (hello.length < HELLO_BYTES) return;
      clearTimeout(timer);
      socket.off('data', onData);
      if (hello.length > HELLO_BYTES) return refuse('sent more than a hello');
      const from = hello.readUInt32LE(0);
      const to = hello.readUInt32LE(4);
      const clientNonce = hello.subarray(8, 8 + NONCE_BYTES);
      const proof = hello.subarray(8 + NONCE_BYTES);
      const want = mac(this.options.token, 'receiver', serverNonce, clientNonce, this.rank, from);
      if (!timingSafeEqual(proof, want)) return refuse('wrong run token');
      if (from !== this.right || to !== this.rank)
        return refuse(`it is rank ${from} asking for rank ${to}'s frames`);
      if (this.outgoing || this.closing) return refuse('the link to the right is taken');
      socket.write(mac(this.options.token, 'sender', serverNonce, clientNonce, this.rank, from));
      this.adoptOutgoing(socket);
    };
    socket.on('data', onData);
  }

  private adoptOutgoing(socket: Socket): void {
    this.outgoing = socket;
    const right = this.right;
    // The right neighbour writes back only credits for shared slots.
    socket.on('data', (chunk: Buffer) => this.onCredits(chunk));
    const lost = (how: string): void => {
      if (!this.closing)
        this.report(new PeerLostError(`the data link to rank ${right} ${how}`, right));
    };
    socket.on('error', (error) => lost(`broke: ${error.message}`));
    socket.on('close', () => lost('closed'));
    // A Unix socket means the same machine: offer shared slots for the payloads.
    if (socket.remoteAddress === undefined) this.offerSharedMemory(socket);
    this.outgoingOpen.resolve();
  }

  private offerSharedMemory(socket: Socket): void {
    if (!this.shm) return;
    const slotBytes = this.maxPayloadBytes;
    try {
      const { name, region } = this.shm.create(SLOTS_PER_LINK * slotBytes);
      this.writer = new SlotWriter(region, SLOTS_PER_LINK, slotBytes, this.right);
      this.offeredName = name;
      const nameBytes = Buffer.from(name);
      socket.write(encodeSharedMemoryOffer(nameBytes, SLOTS_PER_LINK, slotBytes));
      socket.write(nameBytes);
    } catch (error) {
      log.debug(`data plane: no shared slots to rank ${this.right}: ${(error as Error).message}`);
    }
  }

  private onCredits(chunk: Buffer): void {
    const writer = this.writer;
    if (!writer) {
      if (!this.failure && !this.closing)
        this.report(new ProtocolError(`rank ${this.right} wrote on a link that only it reads`));
      return;
    }
    try {
      const declined =
        writer.onCredits(chunk, (word) => {
          if (!this.registered)
            throw new ProtocolError(
              `rank ${this.right} sent a registered-buffer credit (0x${word.toString(16)}) with none announced`,
            );
          this.registered.onCredit(word);
        }) === 'declined';
      if (this.offeredName && (declined || writer.usable)) {
        this.shm!.remove(this.offeredName);
        this.offeredName = undefined;
      }
      if (declined) {
        this.writer = undefined;
        setImmediate(() => writer.region.unmap());
      }
    } catch (error) {
      this.report(error as Error);
    }
  }

  /** Dials the left neighbour's `endpoint` (Unix socket first, then TCP) and authenticates. */
  async connectLeft(endpoint: DataEndpoint): Promise<void> {
    const onread = {
      buffer: (): Uint8Array => this.target.subarray(this.filled),
      callback: (n: number): boolean => {
        this.filled += n;
        if (this.filled === this.target.length) this.advance();
        return true;
      },
    };
    const { socket, transport } = await dialEndpoint(endpoint, onread);
    this.transportValue = transport;
    this.incoming = socket;
    const left = this.left;
    socket.on('error', (error) => this.incomingLost(`broke: ${error.message}`));
    socket.on('close', () => {
      if (this.goodbye) this.leftEnded.resolve();
      else this.incomingLost('closed');
    });
    await Promise.race([this.incomingOpen.promise, this.failed.promise]);
    log.debug(`data plane: rank ${left} -> rank ${this.rank} over ${transport}`);
  }

  private incomingLost(how: string): void {
    if (this.closing) return;
    const left = this.left;
    if (this.phase === 'challenge' || this.phase === 'proof')
      return this.report(
        new PeerLostError(
          `the data link from rank ${left} ${how} before it proved the run token`,
          left,
        ),
      );
    const midFrame =
      (this.phase === 'header' && this.filled > 0) || this.phase === 'payload'
        ? ` in the middle of a frame (${this.filled} of ${this.target.length} ${this.phase} bytes): the peer died or sent a truncated frame`
        : ' without a goodbye';
    this.report(new PeerLostError(`the data link from rank ${left} ${how}${midFrame}`, left));
  }

  /** Interprets a completely filled `target`. */
  private advance(): void {
    try {
      this.step();
    } catch (error) {
      this.report(error as Error);
      this.readInto('discard', new Uint8Array(64 * 1024));
    }
  }

  private step(): void {
    const left = this.left;
    switch (this.phase) {
      case 'challenge': {
        const got = Buffer.from(this.target);
        if (!got.subarray(0, GREETING.length).equals(GREETING))
          throw new ProtocolError(
            `the data endpoint of rank ${left} is not a ner-launch data plane`,
          );
        this.serverNonce = got.subarray(GREETING.length);
        const hello = Buffer.alloc(HELLO_BYTES);
        hello.writeUInt32LE(this.rank, 0);
        hello.writeUInt32LE(left, 4);
        this.clientNonce.copy(hello, 8);
        const tag = mac(
          this.options.token,
          'receiver',
          this.serverNonce,
          this.clientNonce,
          left,
          this.rank,
        );
        tag.copy(hello, 8 + NONCE_BYTES);
        this.incoming!.write(hello);
        return this.readInto('proof', new Uint8Array(MAC_BYTES));
      }
      case 'proof': {
        const want = mac(
          this.options.token,
          'sender',
          this.serverNonce,
          this.clientNonce,
          left,
          this.rank,
        );
        if (!timingSafeEqual(Buffer.from(this.target), want))
          throw new ProtocolError(`the data endpoint of rank ${left} did not prove the run token`);
        this.incomingOpen.resolve();
        return this.readInto('header', this.header);
      }
      case 'header': {
        const header = decodeHeader(this.header, left, this.maxPayloadBytes);
        if (header.kind === 'GOODBYE') {
          this.goodbye = true;
          return this.readInto('discard', new Uint8Array(1024));
        }
        if (header.kind === 'SHARED_MEMORY') {
          this.offer = header;
          return this.readInto('offer', new Uint8Array(header.payloadBytes));
        }
        if (header.kind === 'REGION') {
          this.announced = header;
          return this.readInto('region', new Uint8Array(header.payloadBytes));
        }
        if (header.kind === 'REGION_FREED') {
          this.peerBuffers.forget(header.region);
          return this.readInto('header', this.header);
        }
        const { payloadBytes, slot, inRegion, ...frame } = header;
        this.frame = frame;
        if (inRegion) {
          this.referenceBytes = payloadBytes;
          return this.readInto('locator', new Uint8Array(LOCATOR_BYTES));
        }
        if (slot !== undefined) {
          if (!this.reader)
            throw new ProtocolError(
              `rank ${left} announced a payload in shared slot ${slot} without having offered shared memory`,
            );
          this.target = this.reader.take(slot, payloadBytes);
          return this.deliver();
        }
        const payload = this.takeBuffer(payloadBytes);
        if (payloadBytes > 0) return this.readInto('payload', payload);
        this.target = payload;
        return this.deliver();
      }
      case 'payload':
        return this.deliver();
      case 'offer':
        this.acceptOffer(Buffer.from(this.target).toString());
        return this.readInto('header', this.header);
      case 'region': {
        const { region, regionBytes } = this.announced!;
        const name = Buffer.from(this.target).toString();
        this.incoming!.write(this.peerBuffers.map(region, name, regionBytes));
        return this.readInto('header', this.header);
      }
      case 'locator': {
        const { region, offset } = decodeLocator(this.target, left);
        this.target = this.peerBuffers.view(region, offset, this.referenceBytes);
        return this.deliver();
      }
      case 'discard':
        return this.readInto('discard', this.target);
    }
  }

  /** Maps the left neighbour's shared slots, or declines (payloads then stay on the socket). */
  private acceptOffer(name: string): void {
    const { slots, slotBytes } = this.offer!;
    const left = this.left;
    let answer = CREDIT_DECLINED;
    if (this.reader) throw new ProtocolError(`rank ${left} offered shared memory a second time`);
    if (
      this.shm &&
      slots >= 1 &&
      slots <= MAX_OFFERED_SLOTS &&
      Number.isSafeInteger(slotBytes) &&
      slotBytes >= 1 &&
      slotBytes <= this.maxPayloadBytes
    ) {
      try {
        const region = this.shm.open(name, slots * slotBytes);
        this.shm.remove(name);
        this.reader = new SlotReader(region, slots, slotBytes, left);
        this.transportValue = 'shared memory (headers over a unix socket)';
        answer = CREDIT_MAPPED;
      } catch (error) {
        log.debug(`data plane: declined rank ${left}'s shared memory: ${(error as Error).message}`);
      }
    }
    this.incoming!.write(creditWord(answer));
  }

  private deliver(): void {
    if (!this.failure) this.inbox.push({ ...this.frame!, payload: this.target });
    this.readInto('header', this.header);
  }

  private readInto(phase: DataPlane['phase'], target: Uint8Array): void {
    this.phase = phase;
    this.target = target;
    this.filled = 0;
  }

  private takeBuffer(bytes: number): Uint8Array {
    if (bytes <= SMALL_PAYLOAD) return new Uint8Array(bytes);
    const buffer = this.pool.pop() ?? new Uint8Array(this.maxPayloadBytes);
    return buffer.subarray(0, bytes);
  }

  /** Resolves once both links are open and authenticated. */
  async ready(): Promise<void> {
    await Promise.race([
      Promise.all([this.outgoingOpen.promise, this.incomingOpen.promise]),
      this.failed.promise,
    ]);
  }

  /** Reports the first failure to the group (which then calls `fail`). */
  private report(error: Error): void {
    if (this.failure || this.closing) return;
    this.options.onFailure(error);
    this.fail(error);
  }

  /** Fails every current and future send/recv with `error`. */
  fail(error: Error): void {
    if (this.failure) return;
    this.failure = error;
    this.inbox.fail(error);
    this.failed.reject(error);
  }

  // RingLink ------------------------------------------------------------------------------

  /** Queues `frame` for the right neighbour; the payload's memory must stay unchanged until `flush`. */
  async send(frame: RingFrame, options?: { spareStage?: boolean }): Promise<void> {
    if (this.failure) throw this.failure;
    const out = this.outgoing;
    if (!out) throw new ProcessGroupError('data plane used before it was connected');
    const writer = this.writer;
    const staged = this.staged;
    if (staged && frame.payload === staged.payload) {
      this.staged = undefined;
      out.write(encodeHeader(frame, staged.slot));
      return;
    }
    const place =
      frame.payload.byteLength > SMALL_PAYLOAD ? this.registered?.locate(frame.payload) : undefined;
    if (place) {
      this.registered!.referenceSent();
      out.write(encodeRegionReference(frame, place.region, place.offset));
      return;
    }
    if (writer?.usable && frame.payload.byteLength > SMALL_PAYLOAD) {
      let slot = writer.acquire(options?.spareStage ? 1 : 0);
      if (typeof slot !== 'number') slot = await Promise.race([slot, this.failed.promise]);
      if (this.failure) throw this.failure;
      writer.slot(slot, frame.payload.byteLength).set(frame.payload);
      out.write(encodeHeader(frame, slot));
      return;
    }
    const written = deferred<void>();
    out.cork();
    out.write(encodeHeader(frame));
    out.write(frame.payload, (error) => (error ? written.reject(error) : written.resolve()));
    out.uncork();
    this.lastWrite = written.promise;
    if (out.writableLength <= QUEUED_FRAMES * this.maxPayloadBytes) return;
    await Promise.race([new Promise((resolve) => out.once('drain', resolve)), this.failed.promise]);
  }

  /** RingLink.stage: a free shared slot, lent until the frame written into it is sent. */
  stage(bytes: number, keepFree = 0): Uint8Array | undefined {
    const writer = this.writer;
    if (this.failure || this.staged || !writer?.usable || bytes <= SMALL_PAYLOAD) return undefined;
    if (bytes > writer.slotBytes) return undefined;
    const slot = writer.tryAcquire(keepFree);
    if (slot === undefined) return undefined;
    const payload = writer.slot(slot, bytes);
    this.staged = { slot, payload };
    return payload;
  }

  /** RingLink.readsInPlace: `bytes` lie in a registered buffer the right neighbour has mapped. */
  readsInPlace(bytes: Uint8Array): boolean {
    return bytes.byteLength > SMALL_PAYLOAD && this.registered?.locate(bytes) !== undefined;
  }

  /**
   * A Float32Array the right neighbour reads in place (registered-buffers.ts) when it shares
   * this machine and shared memory has room; otherwise a plain one. Valid until
   * `releaseBuffer`, also after the plane closed.
   */
  registerBuffer(length: number): Float32Array {
    const out = this.outgoing;
    if (
      !this.shm ||
      !this.writer?.usable ||
      !out ||
      this.failure ||
      this.closing ||
      length * 4 <= SMALL_PAYLOAD
    )
      return new Float32Array(length);
    this.registered ??= new RegisteredBuffers(this.shm, this.right);
    try {
      const { array, id, name } = this.registered.allocate(length);
      const nameBytes = Buffer.from(name);
      out.write(encodeRegionAnnouncement(nameBytes, id, length * 4));
      out.write(nameBytes);
      return array;
    } catch (error) {
      if (!this.warnedUnregistered)
        log.warn(
          `data plane: ${(error as Error).message}; all-reduces copy through the transport's slots instead ` +
            `of reading arrays in place (slower; in a container, give /dev/shm more room, e.g. docker --shm-size)`,
        );
      this.warnedUnregistered = true;
      return new Float32Array(length);
    }
  }

  /** Unmaps a buffer from `registerBuffer` (a plain array is left alone); no collective may be using it. */
  releaseBuffer(array: Float32Array): void {
    const id = this.registered?.release(array);
    if (id !== undefined && !this.failure && !this.closing)
      this.outgoing?.write(encodeRegionFreed(id));
  }

  /** The next frame from the left neighbour; its payload is valid until the next `recv`. */
  recv(): Promise<RingFrame> {
    if (this.lent && this.pool.length < POOL_SIZE) this.pool.push(this.lent);
    this.lent = undefined;
    this.giveBack();
    return this.inbox.shift().then((frame) => {
      if (this.peerBuffers.holds(frame.payload)) {
        this.lentReference = true;
        return frame;
      }
      const reader = this.reader;
      if (reader && frame.payload.buffer === reader.region.bytes.buffer) {
        this.lentSlot =
          (frame.payload.byteOffset - reader.region.bytes.byteOffset) / reader.slotBytes;
        return frame;
      }
      if (
        frame.payload.buffer.byteLength === this.maxPayloadBytes &&
        frame.payload.byteLength > SMALL_PAYLOAD
      )
        this.lent = new Uint8Array(frame.payload.buffer);
      return frame;
    });
  }

  /**
   * Resolves once every frame sent so far is with the kernel, and every payload sent by
   * reference was read by the neighbour (callers may then change their arrays).
   */
  async flush(): Promise<void> {
    this.giveBack();
    await Promise.race([
      Promise.all([this.lastWrite, this.registered?.whenAllRead()]),
      this.failed.promise,
    ]);
  }

  /** The payload `recv` last handed out is no longer read: its slot goes back, or its reading is confirmed, to the sender. */
  private giveBack(): void {
    const credit = this.lentReference
      ? referenceReadCredit()
      : this.lentSlot !== undefined
        ? this.reader!.release(this.lentSlot)
        : undefined;
    this.lentReference = false;
    this.lentSlot = undefined;
    if (credit && !this.failure && !this.closing) this.incoming?.write(credit);
  }

  /** Frames received but not yet consumed. */
  get pending(): number {
    return this.inbox.pending;
  }

  /** Clean close: a goodbye to the right, then waits (at most `graceMs`) for the left's goodbye and close. */
  async close(graceMs: number): Promise<void> {
    if (!this.failure && this.outgoing) {
      this.outgoing.write(encodeHeader('GOODBYE'));
      this.outgoing.end();
      this.closing = true;
      const grace = new Promise<void>((resolve) => setTimeout(resolve, graceMs).unref());
      await Promise.race([this.leftEnded.promise, this.failed.promise, grace]).catch(
        () => undefined,
      );
    }
    this.destroy();
  }

  /** Drops both links and the listeners at once (the peers notice immediately). */
  destroy(): void {
    this.closing = true;
    this.outgoing?.destroy();
    this.incoming?.destroy();
    for (const server of this.servers) server.close();
    if (this.offeredName) this.shm?.remove(this.offeredName);
    this.offeredName = undefined;
    // Unmapped on a later turn: a collective may still be in a synchronous copy from a slot.
    const regions = [this.writer?.region, this.reader?.region];
    this.writer = undefined;
    this.reader = undefined;
    this.lentSlot = undefined;
    this.lentReference = false;
    this.registered?.close();
    this.peerBuffers.close();
    setImmediate(() => regions.forEach((region) => region?.unmap()));
    if (process.platform !== 'linux' && this.socketPath)
      void unlink(this.socketPath).catch(() => undefined);
  }
}

/** Reads straight into caller-chosen memory (net.Socket's `onread`). */
export interface DirectRead {
  buffer: () => Uint8Array;
  callback: (bytes: number) => boolean;
}

/** Listens on a fresh Unix socket and on TCP `host`:0; `accept` gets every connection. */
export async function listenEndpoint(
  host: string,
  accept: (socket: Socket) => void,
): Promise<{ servers: Server[]; endpoint: DataEndpoint; socketPath: string }> {
  const name = `ner-launch-${process.pid}-${randomBytes(8).toString('hex')}.sock`;
  const socketPath = process.platform === 'linux' ? `\0${name}` : join(tmpdir(), name);
  const tcp = createServer(accept);
  const unix = createServer(accept);
  const listen = (server: Server, ...args: unknown[]): Promise<void> =>
    new Promise((resolve, reject) => {
      server.once('error', reject);
      (server.listen as (...a: unknown[]) => void)(...args, () => {
        server.off('error', reject);
        resolve();
      });
    });
  try {
    await listen(tcp, 0, host);
    await listen(unix, socketPath);
  } catch (error) {
    tcp.close();
    unix.close();
    throw error;
  }
  const { port } = tcp.address() as { port: number };
  return { servers: [tcp, unix], endpoint: { host, port, socket: socketPath }, socketPath };
}

/** Connects to `endpoint`: its Unix socket when it is on this machine, else TCP. */
export async function dialEndpoint(
  endpoint: DataEndpoint,
  onread: DirectRead,
): Promise<{ socket: Socket; transport: string }> {
  const dial = (how: { path: string } | { host: string; port: number }): Promise<Socket> =>
    new Promise((resolve, reject) => {
      const socket = connect({ ...how, onread });
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(socket);
      });
      socket.once('error', reject);
    });
  let socket: Socket;
  let transport = 'unix socket';
  try {
    socket = await dial({ path: endpoint.socket });
  } catch {
    // Not on the same machine (or network namespace): TCP to the advertised address.
    transport = 'tcp';
    socket = await dial({ host: endpoint.host, port: endpoint.port });
  }
  socket.setNoDelay(true);
  return { socket, transport };
}
