/**
 * Rendezvous: global rank 0 hosts a coordinator at MASTER_ADDR:MASTER_PORT; every other
 * worker calls Join with the address of its own peer server; once WORLD_SIZE workers have
 * joined, all receive the table of peer addresses. Refused: a wrong token, a rank outside
 * the world, a rank that already joined, a different world size, anyone after completion.
 * Past the timeout everyone fails with an error naming the ranks that never came.
 */
import * as grpc from '@grpc/grpc-js';
import { callMetadata, hasToken, protoPackage } from './grpc-services.js';
import { RendezvousRefusedError, RendezvousTimeoutError } from './process-group.js';
import type { JoinReply } from './proto-types/nerlaunch/processgroup/v1/JoinReply.js';
import type { JoinRequest__Output } from './proto-types/nerlaunch/processgroup/v1/JoinRequest.js';

/** Trailing-metadata key listing the missing ranks when the coordinator gives up. */
const MISSING_KEY = 'x-ner-missing-ranks';
/** Longest peer address / description accepted from a joiner. */
const MAX_FIELD_CHARS = 512;

function describeRanks(ranks: number[]): string {
  return ranks.length === 1 ? `rank ${ranks[0]}` : `ranks ${ranks.join(', ')}`;
}

/** The coordinator, living in rank 0's gRPC server. */
export class RendezvousCoordinator {
  private readonly addresses: Array<string | undefined>;
  private readonly pending: Array<grpc.sendUnaryData<JoinReply>> = [];
  private state: 'waiting' | 'complete' | 'failed' = 'waiting';
  private readonly done: Promise<string[]>;
  private settle!: { resolve: (a: string[]) => void; reject: (e: Error) => void };
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly worldSize: number,
    private readonly token: string,
    timeoutMs: number,
    rank0Address: string,
  ) {
    this.addresses = new Array<string | undefined>(worldSize).fill(undefined);
    this.addresses[0] = rank0Address;
    this.done = new Promise((resolve, reject) => (this.settle = { resolve, reject }));
    this.done.catch(() => undefined);
    this.timer = setTimeout(() => this.expire(timeoutMs), timeoutMs);
    this.maybeComplete();
  }

  /** Adds the Rendezvous service to `server`. */
  addTo(server: grpc.Server): void {
    server.addService(protoPackage.Rendezvous.service, {
      Join: (
        call: grpc.ServerUnaryCall<JoinRequest__Output, JoinReply>,
        callback: grpc.sendUnaryData<JoinReply>,
      ) => this.join(call, callback),
    });
  }

  /** Resolves with the peer table once everyone joined; rejects at the timeout. */
  wait(): Promise<string[]> {
    return this.done;
  }

  private refuse(
    callback: grpc.sendUnaryData<JoinReply>,
    code: grpc.status,
    details: string,
  ): void {
    callback({ code, details });
  }

  private join(
    call: grpc.ServerUnaryCall<JoinRequest__Output, JoinReply>,
    callback: grpc.sendUnaryData<JoinReply>,
  ): void {
    const { rank, worldSize, peerAddress, description } = call.request;
    const who = `joiner claiming rank ${rank}${description ? ` (${description.slice(0, MAX_FIELD_CHARS)})` : ''}`;
    if (!hasToken(call.metadata, this.token))
      return this.refuse(
        callback,
        grpc.status.PERMISSION_DENIED,
        `${who}: wrong run token; it belongs to another job`,
      );
    if (worldSize !== this.worldSize)
      return this.refuse(
        callback,
        grpc.status.INVALID_ARGUMENT,
        `${who}: world size ${worldSize} differs from the coordinator's ${this.worldSize}`,
      );
    if (!Number.isInteger(rank) || rank < 1 || rank >= this.worldSize)
      return this.refuse(
        callback,
        grpc.status.INVALID_ARGUMENT,
        `${who}: rank must be in 1..${this.worldSize - 1}`,
      );
    if (
      typeof peerAddress !== 'string' ||
      peerAddress.length === 0 ||
      peerAddress.length > MAX_FIELD_CHARS ||
      !/^[\w.\-[\]:%]+:\d+$/.test(peerAddress)
    )
      return this.refuse(callback, grpc.status.INVALID_ARGUMENT, `${who}: malformed peer address`);
    if (this.state === 'complete')
      return this.refuse(
        callback,
        grpc.status.FAILED_PRECONDITION,
        `${who}: the rendezvous is already complete (extra joiner)`,
      );
    if (this.state === 'failed')
      return this.refuse(
        callback,
        grpc.status.FAILED_PRECONDITION,
        `${who}: the rendezvous already timed out`,
      );
    if (this.addresses[rank] !== undefined)
      return this.refuse(
        callback,
        grpc.status.ALREADY_EXISTS,
        `${who}: rank ${rank} already joined from ${this.addresses[rank]}`,
      );
    this.addresses[rank] = peerAddress;
    this.pending.push(callback);
    this.maybeComplete();
  }

  private maybeComplete(): void {
    if (this.state !== 'waiting' || this.addresses.some((a) => a === undefined)) return;
    this.state = 'complete';
    clearTimeout(this.timer);
    const table = this.addresses as string[];
    for (const callback of this.pending.splice(0)) callback(null, { peerAddresses: table });
    this.settle.resolve(table);
  }

  private missing(): number[] {
    return this.addresses.flatMap((a, rank) => (a === undefined ? [rank] : []));
  }

  private expire(timeoutMs: number): void {
    if (this.state !== 'waiting') return;
    this.state = 'failed';
    const missing = this.missing();
    const message = `rendezvous timed out after ${timeoutMs / 1000} s: ${describeRanks(missing)} of ${this.worldSize} never joined`;
    const trailer = new grpc.Metadata();
    trailer.set(MISSING_KEY, missing.join(','));
    for (const callback of this.pending.splice(0))
      callback({ code: grpc.status.DEADLINE_EXCEEDED, details: message, metadata: trailer });
    this.settle.reject(new RendezvousTimeoutError(message, missing));
  }

  /** Stops the timer and refuses waiting joiners (used when rank 0 fails before completion). */
  dispose(): void {
    clearTimeout(this.timer);
    if (this.state === 'waiting') {
      this.state = 'failed';
      for (const callback of this.pending.splice(0))
        callback({ code: grpc.status.UNAVAILABLE, details: 'rank 0 left the rendezvous' });
    }
  }
}

/** What a non-zero rank needs to join. */
export interface JoinOptions {
  coordinatorAddress: string;
  token: string;
  rank: number;
  worldSize: number;
  peerAddress: string;
  timeoutMs: number;
  description?: string;
  /** Extra wait past `timeoutMs` for the coordinator's own timeout answer (default 5 s). */
  graceMs?: number;
}

/** Joins the rendezvous; resolves with the peer table (index = global rank). */
export function joinRendezvous(options: JoinOptions): Promise<string[]> {
  const client = new protoPackage.Rendezvous(
    options.coordinatorAddress,
    grpc.credentials.createInsecure(),
  );
  // The coordinator answers at its own timeout; ours is later so its message (naming the
  // missing ranks) wins; ours fires only when rank 0 itself never came up.
  const deadline = Date.now() + options.timeoutMs + (options.graceMs ?? 5_000);
  return new Promise<string[]>((resolve, reject) => {
    client.Join(
      {
        rank: options.rank,
        worldSize: options.worldSize,
        peerAddress: options.peerAddress,
        description: options.description ?? '',
      },
      callMetadata(options.token, options.rank, true),
      { deadline },
      (error, reply) => {
        client.close();
        if (!error && reply) {
          const table = reply.peerAddresses;
          if (table.length !== options.worldSize || table[options.rank] !== options.peerAddress)
            return reject(
              new RendezvousRefusedError(
                `the coordinator at ${options.coordinatorAddress} returned an inconsistent peer table`,
              ),
            );
          return resolve(table);
        }
        const err = error as grpc.ServiceError;
        if (err.code === grpc.status.DEADLINE_EXCEEDED) {
          const listed = err.metadata?.get(MISSING_KEY)[0];
          if (typeof listed === 'string')
            return reject(
              new RendezvousTimeoutError(
                err.details,
                listed.split(',').filter(Boolean).map(Number),
              ),
            );
          return reject(
            new RendezvousTimeoutError(
              `rendezvous timed out: rank 0's coordinator at ${options.coordinatorAddress} did not answer within ${options.timeoutMs / 1000} s`,
              [0],
            ),
          );
        }
        if (err.code === grpc.status.UNAVAILABLE)
          return reject(
            new RendezvousRefusedError(
              `rendezvous with ${options.coordinatorAddress} failed: ${err.details}`,
            ),
          );
        return reject(
          new RendezvousRefusedError(
            `rendezvous refused by ${options.coordinatorAddress}: ${err.details}`,
          ),
        );
      },
    );
  });
}
