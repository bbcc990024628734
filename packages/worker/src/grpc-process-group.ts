/**
 * The N-process ProcessGroup: rendezvous through rank 0 (rendezvous.ts), then two rings
 * (rank r → r+1): the data plane (data-plane.ts: Unix sockets or TCP, raw frames) carries the
 * bulk collectives (all-reduce, broadcast), and a gRPC stream the small ones (all-gather,
 * objects, barrier) next to the control calls (Ping, Abort). Failure handling, so no rank
 * ever hangs:
 * - every collective has a timeout; when it strikes, the peers are pinged and the error
 *   names the ones that do not answer (a stopped or wedged process);
 * - a ring stream that breaks (peer process died) fails the group at once, and this rank
 *   tells every other peer (Abort) so they fail within seconds too;
 * - frames that do not fit the collective in progress are rejected (ProtocolError).
 */
import * as grpc from '@grpc/grpc-js';
import { createSocket } from 'node:dgram';
import { hostname } from 'node:os';
import { DEFAULT_DATA_PAYLOAD_BYTES, DataPlane, type DataEndpoint } from './data-plane.js';
import { RendezvousCoordinator, joinRendezvous } from './rendezvous.js';
import {
  bindServer,
  callMetadata,
  callerRank,
  channelOptions,
  formatAddress,
  hasToken,
  protoPackage,
} from './grpc-services.js';
import type { JsonValue } from '@ner-launch/common';
import {
  CollectiveTimeoutError,
  MAX_OBJECT_BYTES,
  PeerLostError,
  ProtocolError,
  ProcessGroupError,
  decodeObject,
  encodeObject,
  type AllReduceOptions,
  type ProcessGroup,
  type ReduceOp,
} from './process-group.js';
import type { Frame__Output, Frame } from './proto-types/nerlaunch/processgroup/v1/Frame.js';
import type { LinkRequest__Output } from './proto-types/nerlaunch/processgroup/v1/LinkRequest.js';
import type { PeerClient } from './proto-types/nerlaunch/processgroup/v1/Peer.js';
import type {
  PingReply,
  PingReply__Output,
} from './proto-types/nerlaunch/processgroup/v1/PingReply.js';
import { ringAllReduce } from './ring-allreduce.js';
import { ringAllGather, ringBroadcast } from './ring-collectives.js';
import { FrameQueue, type RingFrame, type RingLink } from './ring-link.js';

/** Default largest frame payload: 1 MiB (pieces of 256 Ki float32 values). */
export const DEFAULT_MAX_PAYLOAD_BYTES = 1 << 20;
/** Room for the frame header on top of the payload in the gRPC message cap. */
const HEADER_ALLOWANCE = 1024;
/** How long the liveness probe and abort notices may take. */
const PROBE_TIMEOUT_MS = 1_500;

/** How to start a GrpcProcessGroup (normally built from the worker env by the Accelerator). */
export interface GrpcProcessGroupOptions {
  rank: number;
  worldSize: number;
  /** Rank 0 listens here; everyone else dials it. */
  masterAddr: string;
  masterPort: number;
  /** Address this worker's peer server binds to and advertises (ranks > 0). */
  localAddr: string;
  token: string;
  rendezvousTimeoutMs: number;
  collectiveTimeoutMs: number;
  /** Largest frame payload of both rings (tests force small pieces); must be equal on every rank. */
  maxPayloadBytes?: number;
}

/** The local address of the interface that routes to host:port (no packet is sent). */
export function routeLocalAddress(host: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createSocket(host.includes(':') ? 'udp6' : 'udp4');
    socket.once('error', (error) => {
      socket.close();
      reject(error);
    });
    socket.connect(port, host, () => {
      const { address } = socket.address();
      socket.close();
      resolve(address);
    });
  });
}

type Deferred = { promise: Promise<never>; reject: (e: Error) => void };
function deferredFailure(): Deferred {
  let reject!: (e: Error) => void;
  const promise = new Promise<never>((_, r) => (reject = r));
  promise.catch(() => undefined);
  return { promise, reject };
}

/** A ProcessGroup over gRPC; create with `GrpcProcessGroup.create`. */
export class GrpcProcessGroup implements ProcessGroup, RingLink {
  readonly maxPayloadBytes: number;
  private readonly server: grpc.Server;
  private coordinator: RendezvousCoordinator | undefined;
  private peers: string[] = [];
  private readonly clients = new Map<number, PeerClient>();
  /** The ring of the bulk collectives. */
  private dataPlane: DataPlane | undefined;
  /** Our end of the link to the right neighbour (it calls Link on our server). */
  private outgoing: grpc.ServerWritableStream<LinkRequest__Output, Frame> | undefined;
  private outgoingReady: (() => void) | undefined;
  private readonly outgoingOpen: Promise<void>;
  private rightHungUp: (() => void) | undefined;
  private readonly rightHungUpPromise: Promise<void>;
  /** Our call to the left neighbour's Link, delivering its frames. */
  private incoming: grpc.ClientReadableStream<Frame__Output> | undefined;
  private readonly inbox = new FrameQueue();
  private leftSaidGoodbye = false;
  private leftEnded: (() => void) | undefined;
  private readonly leftEndedPromise: Promise<void>;
  private failure: Error | undefined;
  private readonly failed = deferredFailure();
  private nextOp = 0;
  /** Abort notices in flight (close waits for them before closing the channels). */
  private readonly notices: Array<Promise<void>> = [];
  private busy = false;
  private closing = false;
  private closed = false;

  private constructor(private readonly options: GrpcProcessGroupOptions) {
    this.maxPayloadBytes = options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
    this.server = new grpc.Server(this.grpcOptions());
    this.leftEndedPromise = new Promise((resolve) => (this.leftEnded = resolve));
    this.outgoingOpen = new Promise((resolve) => (this.outgoingReady = resolve));
    this.rightHungUpPromise = new Promise((resolve) => (this.rightHungUp = resolve));
    this.server.addService(protoPackage.Peer.service, {
      Link: (call: grpc.ServerWritableStream<LinkRequest__Output, Frame>) => this.acceptLink(call),
      Ping: (
        call: grpc.ServerUnaryCall<unknown, unknown>,
        callback: grpc.sendUnaryData<PingReply>,
      ) => {
        if (!hasToken(call.metadata, options.token))
          return callback({ code: grpc.status.PERMISSION_DENIED, details: 'wrong run token' });
        const data = this.dataPlane?.endpoint;
        callback(null, {
          rank: options.rank,
          dataSocket: data?.socket,
          dataHost: data?.host,
          dataPort: data?.port,
        });
      },
      Abort: (
        call: grpc.ServerUnaryCall<{ fromRank: number; lostRank: number; reason: string }, unknown>,
        callback: grpc.sendUnaryData<object>,
      ) => {
        if (!hasToken(call.metadata, options.token))
          return callback({ code: grpc.status.PERMISSION_DENIED, details: 'wrong run token' });
        const { fromRank, lostRank, reason } = call.request;
        callback(null, {});
        this.fail(
          new PeerLostError(
            `rank ${fromRank} aborted the group: ${String(reason).slice(0, 2000)}`,
            lostRank,
          ),
          false,
        );
      },
    });
  }

  get rank(): number {
    return this.options.rank;
  }

  get worldSize(): number {
    return this.options.worldSize;
  }

  /** How the bulk collectives reach this rank from its left neighbour: 'unix socket' or 'tcp'. */
  get dataTransport(): string {
    return this.dataPlane?.transport ?? 'not connected';
  }

  /** The address this rank's data plane listens on for TCP. */
  get dataHost(): string {
    return this.dataPlane?.endpoint.host ?? this.options.localAddr;
  }

  private grpcOptions(): grpc.ChannelOptions {
    return channelOptions(
      this.maxPayloadBytes + HEADER_ALLOWANCE,
      this.options.collectiveTimeoutMs + 10_000,
    );
  }

  /** Starts the peer server, runs the rendezvous and opens the ring link to rank+1. */
  static async create(options: GrpcProcessGroupOptions): Promise<GrpcProcessGroup> {
    if (options.worldSize < 2)
      throw new RangeError('GrpcProcessGroup needs a world size of at least 2');
    const group = new GrpcProcessGroup(options);
    try {
      await group.start();
      return group;
    } catch (error) {
      group.server.forceShutdown();
      group.coordinator?.dispose();
      group.dataPlane?.destroy();
      throw error;
    }
  }

  private async start(): Promise<void> {
    const { rank, worldSize, masterAddr, masterPort, localAddr, token, rendezvousTimeoutMs } =
      this.options;
    if (rank === 0) {
      // Data plane first: between binding and adding the rendezvous service nothing may
      // wait, or an early joiner finds a server without it and gives up.
      await this.listenData(masterAddr);
      const port = await bindServer(this.server, masterAddr, masterPort);
      this.coordinator = new RendezvousCoordinator(
        worldSize,
        token,
        rendezvousTimeoutMs,
        formatAddress(masterAddr, port),
      );
      this.coordinator.addTo(this.server);
      this.peers = await this.coordinator.wait();
    } else {
      let host = localAddr;
      let port: number;
      try {
        port = await bindServer(this.server, host, 0);
      } catch (error) {
        // NER_LOCAL_ADDR defaults to MASTER_ADDR, which on another machine is not ours:
        // listen on the address this machine uses to reach the coordinator instead.
        if (localAddr !== masterAddr) throw error;
        host = await routeLocalAddress(masterAddr, masterPort);
        port = await bindServer(this.server, host, 0);
      }
      await this.listenData(host);
      this.peers = await joinRendezvous({
        coordinatorAddress: formatAddress(masterAddr, masterPort),
        token,
        rank,
        worldSize,
        peerAddress: formatAddress(host, port),
        timeoutMs: rendezvousTimeoutMs,
        description: `${hostname()} pid ${process.pid}`,
      });
    }
    this.openLink();
    await this.connectDataPlane();
  }

  private async listenData(host: string): Promise<void> {
    const { maxPayloadBytes, rank, worldSize, token } = this.options;
    this.dataPlane = await DataPlane.listen({
      rank,
      worldSize,
      token,
      host,
      maxPayloadBytes: maxPayloadBytes ?? DEFAULT_DATA_PAYLOAD_BYTES,
      onFailure: (error) => this.fail(error),
    });
  }

  /** Asks the left neighbour where its data plane listens, dials it, and waits for both links. */
  private async connectDataPlane(): Promise<void> {
    const left = this.left;
    const timeoutMs = this.options.rendezvousTimeoutMs;
    const endpoint = await new Promise<DataEndpoint>((resolve, reject) =>
      this.client(left).Ping(
        { fromRank: this.rank },
        callMetadata(this.options.token, this.rank, true),
        { deadline: Date.now() + timeoutMs },
        (error: grpc.ServiceError | null, reply?: PingReply__Output) => {
          if (error || !reply?.dataSocket)
            reject(
              new PeerLostError(
                `rank ${left} (${this.peers[left]}) did not tell where its data plane listens: ${error?.details ?? 'no address'}`,
                left,
              ),
            );
          else resolve({ socket: reply.dataSocket, host: reply.dataHost, port: reply.dataPort });
        },
      ),
    );
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new PeerLostError(
              `the data plane between rank ${left}, rank ${this.rank} and rank ${this.right} did not connect within ${timeoutMs / 1000} s (--rdzv_timeout)`,
              left,
            ),
          ),
        timeoutMs,
      );
    });
    try {
      await Promise.race([
        this.dataPlane!.connectLeft(endpoint).then(() => this.dataPlane!.ready()),
        this.failed.promise,
        late,
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  private client(peer: number): PeerClient {
    let client = this.clients.get(peer);
    if (!client) {
      client = new protoPackage.Peer(
        this.peers[peer],
        grpc.credentials.createInsecure(),
        this.grpcOptions(),
      );
      this.clients.set(peer, client);
    }
    return client;
  }

  private get right(): number {
    return (this.rank + 1) % this.worldSize;
  }

  private get left(): number {
    return (this.rank - 1 + this.worldSize) % this.worldSize;
  }

  /** Subscribes to the left neighbour's frames (data flows server → client, see the proto). */
  private openLink(): void {
    const left = this.left;
    const lost = (how: string): PeerLostError =>
      new PeerLostError(`the link from rank ${left} (${this.peers[left]}) ${how}`, left);
    let finished = false;
    const finish = (error?: Error): void => {
      if (finished) return;
      finished = true;
      if (error || !this.leftSaidGoodbye) this.fail(error ?? lost('ended without a goodbye'));
      this.leftEnded?.();
    };
    const call = this.client(left).Link(
      { fromRank: this.rank },
      callMetadata(this.options.token, this.rank),
    );
    this.incoming = call;
    call.on('data', (message: Frame__Output) => {
      if (this.leftSaidGoodbye) return;
      if (message.kind === 'FRAME_KIND_GOODBYE') {
        this.leftSaidGoodbye = true;
        return;
      }
      this.inbox.push(message as unknown as RingFrame);
    });
    call.on('error', (error: grpc.ServiceError) =>
      finish(this.closed ? undefined : lost(`broke: ${error.details || error.message}`)),
    );
    call.on('end', () => finish());
  }

  /** The right neighbour's subscription to our frames. */
  private acceptLink(call: grpc.ServerWritableStream<LinkRequest__Output, Frame>): void {
    const right = this.right;
    const refuse = (code: grpc.status, details: string): void => {
      call.emit('error', { code, details });
    };
    if (!hasToken(call.metadata, this.options.token))
      return refuse(grpc.status.PERMISSION_DENIED, 'wrong run token');
    if (call.request.fromRank !== right || callerRank(call.metadata) !== right || this.outgoing)
      return refuse(
        grpc.status.FAILED_PRECONDITION,
        `rank ${this.rank} serves one link, to rank ${right}`,
      );
    this.outgoing = call;
    let hungUp = false;
    const hangUp = (): void => {
      if (hungUp) return;
      hungUp = true;
      if (!this.closing && !this.closed)
        this.fail(
          new PeerLostError(
            `rank ${right} (${this.peers[right]}) dropped the link from this rank`,
            right,
          ),
        );
      this.rightHungUp?.();
    };
    call.on('cancelled', hangUp);
    call.on('error', hangUp);
    call.on('close', hangUp);
    call.on('finish', () => this.rightHungUp?.());
    this.outgoingReady?.();
  }

  /** Marks the group failed, wakes every waiter, and (for first-hand losses) tells all peers. */
  private fail(error: Error, notifyPeers = true): void {
    if (this.failure || this.closed) return;
    this.failure = error;
    this.inbox.fail(error);
    this.dataPlane?.fail(error);
    this.failed.reject(error);
    if (notifyPeers) {
      const lostRank = error instanceof PeerLostError ? error.lostRank : this.rank;
      for (let peer = 0; peer < this.worldSize; peer++) {
        if (peer === this.rank || peer === lostRank) continue;
        this.notices.push(
          new Promise<void>((resolve) =>
            this.client(peer).Abort(
              { fromRank: this.rank, lostRank, reason: error.message },
              callMetadata(this.options.token, this.rank),
              { deadline: Date.now() + PROBE_TIMEOUT_MS },
              () => resolve(),
            ),
          ),
        );
      }
    }
  }

  // RingLink ------------------------------------------------------------------------------

  /** RingLink.send: writes a frame to the right neighbour, waiting when its buffer is full. */
  async send(frame: RingFrame): Promise<void> {
    if (this.failure) throw this.failure;
    // The right neighbour subscribes right after the rendezvous; the first sends wait for it.
    if (!this.outgoing) await Promise.race([this.outgoingOpen, this.failed.promise]);
    const out = this.outgoing!;
    // Buffer.from copies: the caller reuses its array as soon as this resolves.
    const ok = out.write({ ...frame, payload: Buffer.from(frame.payload) });
    if (ok) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      out.once('drain', resolve);
      this.failed.promise.catch(reject);
    });
  }

  /** RingLink.recv: the next frame from the left neighbour. */
  recv(): Promise<RingFrame> {
    return this.inbox.shift();
  }

  // Collectives ---------------------------------------------------------------------------

  private async collective<T>(
    name: string,
    detail: string,
    body: (op: number) => Promise<T>,
  ): Promise<T> {
    if (this.failure) throw this.failure;
    if (this.closed) throw new ProcessGroupError(`${name} on a closed process group`);
    if (this.busy)
      throw new ProcessGroupError(
        `${name} started while another collective runs: await each collective`,
      );
    this.busy = true;
    const op = this.nextOp++;
    const timeoutMs = this.options.collectiveTimeoutMs;
    // Once the timeout struck, the timeout (naming the silent peers) is the error reported,
    // even if a neighbour that timed out first disconnects while the peers are probed.
    let timeout: Promise<CollectiveTimeoutError> | undefined;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        timeout = this.describeTimeout(name, op, detail, timeoutMs);
        void timeout.then((error) => {
          this.fail(error, false);
          reject(error);
        });
      }, timeoutMs);
    });
    timedOut.catch(() => undefined);
    try {
      return await Promise.race([body(op), this.failed.promise, timedOut]);
    } catch (error) {
      if (timeout) throw await timeout;
      // Any failure inside a collective leaves the ring out of step: the group is unusable,
      // and the peers are told at once rather than left to time out.
      if (error instanceof Error) this.fail(error, true);
      throw error;
    } finally {
      clearTimeout(timer);
      this.busy = false;
    }
  }

  private async describeTimeout(
    name: string,
    op: number,
    detail: string,
    timeoutMs: number,
  ): Promise<CollectiveTimeoutError> {
    const silent = await this.probePeers();
    const waiting =
      this.inbox.pending === 0 && this.dataPlane?.pending === 0
        ? `; this rank was waiting for data from rank ${this.left}`
        : '';
    const blame =
      silent.length > 0
        ? `; peer(s) not answering a liveness probe: ${silent.map((r) => `rank ${r} (${this.peers[r]})`).join(', ')}`
        : '; every peer answers a liveness probe, so some rank is not calling this collective';
    return new CollectiveTimeoutError(
      `${name} #${op} (${detail}) on rank ${this.rank} timed out after ${timeoutMs / 1000} s (--collective_timeout)${waiting}${blame}`,
      silent,
    );
  }

  /** Ranks that do not answer a Ping within PROBE_TIMEOUT_MS. */
  private probePeers(): Promise<number[]> {
    const probes = [];
    for (let peer = 0; peer < this.worldSize; peer++) {
      if (peer === this.rank) continue;
      probes.push(
        new Promise<number | undefined>((resolve) => {
          this.client(peer).Ping(
            { fromRank: this.rank },
            callMetadata(this.options.token, this.rank),
            { deadline: Date.now() + PROBE_TIMEOUT_MS },
            (error) => resolve(error ? peer : undefined),
          );
        }),
      );
    }
    return Promise.all(probes).then((r) => r.filter((p): p is number => p !== undefined));
  }

  allReduce(
    data: Float32Array,
    op: ReduceOp = 'sum',
    options: AllReduceOptions = {},
  ): Promise<Float32Array> {
    return this.collective(
      'all_reduce',
      `${data.length} elements, ${op}, wire ${options.wire ?? 'fp32'}`,
      (seq) =>
        this.onDataPlane((plane) =>
          ringAllReduce(plane, seq, data, op, options.wire ?? 'fp32', options.pieceBytes),
        ),
    );
  }

  allocateBuffer(length: number): Float32Array {
    return this.dataPlane?.registerBuffer(length) ?? new Float32Array(length);
  }

  releaseBuffer(buffer: Float32Array): void {
    this.dataPlane?.releaseBuffer(buffer);
  }

  broadcast<T extends Float32Array | Uint8Array>(data: T, root = 0): Promise<T> {
    this.checkRoot(root);
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    const format = data instanceof Float32Array ? 'WIRE_FORMAT_FP32' : 'WIRE_FORMAT_BYTES';
    return this.collective('broadcast', `${data.length} elements from rank ${root}`, (seq) =>
      this.onDataPlane((plane) => ringBroadcast(plane, seq, bytes, root, format)).then(() => data),
    );
  }

  async allGather(data: Float32Array): Promise<Float32Array[]> {
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    const blocks = await this.collective('all_gather', `${data.length} elements`, (seq) =>
      ringAllGather(this, seq, bytes, 'WIRE_FORMAT_FP32'),
    );
    return blocks.map((b, r) =>
      r === this.rank ? data : new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4),
    );
  }

  allGatherBytes(data: Uint8Array): Promise<Uint8Array[]> {
    return this.collective('all_gather', `${data.byteLength} bytes`, (seq) =>
      ringAllGather(this, seq, data, 'WIRE_FORMAT_BYTES'),
    );
  }

  async broadcastObject<T extends JsonValue>(value: T | undefined, root = 0): Promise<T> {
    this.checkRoot(root);
    // Two steps (length, then bytes), since only the root knows the size.
    const bytes = this.rank === root ? encodeObject(value) : new Uint8Array(0);
    const header = new Uint8Array(4);
    new DataView(header.buffer).setUint32(0, bytes.byteLength);
    await this.broadcast(header, root);
    const length = new DataView(header.buffer).getUint32(0);
    if (length > MAX_OBJECT_BYTES)
      throw new ProtocolError(
        `rank ${root} announced an object of ${length} bytes (cap ${MAX_OBJECT_BYTES})`,
      );
    const buffer = this.rank === root ? bytes : new Uint8Array(length);
    await this.broadcast(buffer, root);
    return decodeObject<T>(buffer, root);
  }

  async gatherObject<T extends JsonValue>(value: T): Promise<T[]> {
    const blocks = await this.allGatherBytes(encodeObject(value));
    return blocks.map((b, r) => decodeObject<T>(b, r));
  }

  async barrier(): Promise<void> {
    // An all-gather completes on a rank only after it heard from every other rank.
    await this.collective('barrier', 'no data', (seq) =>
      ringAllGather(this, seq, new Uint8Array(0), 'WIRE_FORMAT_BYTES'),
    );
  }

  /** Runs a ring algorithm on the data plane; resolves once the kernel holds every frame it sent (the caller may then change its array). */
  private async onDataPlane<T>(body: (plane: DataPlane) => Promise<T>): Promise<T> {
    const plane = this.dataPlane!;
    const result = await body(plane);
    await plane.flush();
    return result;
  }

  private checkRoot(root: number): void {
    if (!Number.isInteger(root) || root < 0 || root >= this.worldSize)
      throw new RangeError(`root rank ${root} is outside 0..${this.worldSize - 1}`);
  }

  /** This rank failed on its own: tells every peer (Abort, naming this rank), then drops the links. */
  async abort(reason: string): Promise<void> {
    if (this.closed || this.closing) return;
    this.fail(new ProcessGroupError(`rank ${this.rank} failed: ${reason}`), true);
    await this.close();
  }

  /** Leaves cleanly: barrier, goodbye frame, wait for both ring links to close, stop the server. */
  async close(): Promise<void> {
    if (this.closed || this.closing) return;
    this.closing = true;
    let error: unknown;
    if (!this.failure) {
      try {
        await this.barrier();
        if (!this.outgoing) await Promise.race([this.outgoingOpen, this.failed.promise]);
        this.outgoing?.write({ kind: 'FRAME_KIND_GOODBYE' });
        this.outgoing?.end();
        const grace = new Promise<void>((resolve) =>
          setTimeout(resolve, Math.min(10_000, this.options.collectiveTimeoutMs)).unref(),
        );
        await Promise.race([Promise.all([this.rightHungUpPromise, this.leftEndedPromise]), grace]);
        await this.dataPlane?.close(Math.min(10_000, this.options.collectiveTimeoutMs));
      } catch (e) {
        error = e;
      }
    }
    this.closed = true;
    this.coordinator?.dispose();
    // Abort notices first: a peer that sees the data link drop before it heard why would
    // blame this rank instead of the one that was lost.
    await Promise.all(this.notices);
    this.dataPlane?.destroy();
    if (this.failure) {
      // Nothing graceful left to do: drop the links so the peers notice at once.
      this.incoming?.cancel();
      for (const client of this.clients.values()) client.close();
      this.server.forceShutdown();
      if (error) throw error;
      return;
    }
    for (const client of this.clients.values()) client.close();
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, 2_000);
      this.server.tryShutdown(() => {
        clearTimeout(force);
        resolve();
      });
    });
    if (error) throw error;
  }
}
