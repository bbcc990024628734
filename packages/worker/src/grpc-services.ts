/**
 * Loads the gRPC service definitions of proto/process_group.proto (from the checked-in JSON
 * descriptor, so no .proto file is read at run time) and the helpers every service shares:
 * token metadata, channel options with message-size caps, address formatting.
 */
import * as grpc from '@grpc/grpc-js';
import { fromJSON } from '@grpc/proto-loader';
import { createHash, timingSafeEqual } from 'node:crypto';
import descriptor from './proto-types/process-group.descriptor.json' with { type: 'json' };
import type { ProtoGrpcType } from './proto-types/process_group.js';

/** The loaded `nerlaunch.processgroup.v1` package. */
export const protoPackage = (
  grpc.loadPackageDefinition(
    fromJSON(descriptor as Parameters<typeof fromJSON>[0], {
      longs: Number,
      enums: String,
      defaults: true,
      oneofs: true,
    }),
  ) as unknown as ProtoGrpcType
).nerlaunch.processgroup.v1;

/** Metadata key carrying the per-run token on every call. */
export const TOKEN_KEY = 'x-ner-token';
/** Metadata key carrying the caller's global rank. */
export const RANK_KEY = 'x-ner-rank';

/** Call metadata with the run token and the caller's rank; `waitForReady` queues the call until the server is reachable. */
export function callMetadata(token: string, rank: number, waitForReady = false): grpc.Metadata {
  const md = new grpc.Metadata();
  if (waitForReady) md.setOptions({ waitForReady: true });
  md.set(TOKEN_KEY, token);
  md.set(RANK_KEY, String(rank));
  return md;
}

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/** True when the call carries `token` (constant-time comparison). */
export function hasToken(metadata: grpc.Metadata, token: string): boolean {
  const got = metadata.get(TOKEN_KEY)[0];
  if (typeof got !== 'string') return false;
  return timingSafeEqual(digest(got), digest(token));
}

/** The caller's rank from its metadata, or undefined when absent or malformed. */
export function callerRank(metadata: grpc.Metadata): number | undefined {
  const raw = metadata.get(RANK_KEY)[0];
  if (typeof raw !== 'string' || !/^\d{1,6}$/.test(raw)) return undefined;
  return Number(raw);
}

/** host:port, with IPv6 hosts bracketed. */
export function formatAddress(host: string, port: number): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * Channel/server options: messages above `maxMessageBytes` are refused by gRPC before they
 * are decoded; keepalive detects a vanished host, but only after `keepaliveTimeoutMs` so that
 * a merely stalled peer is reported by the collective timeout instead.
 */
export function channelOptions(
  maxMessageBytes: number,
  keepaliveTimeoutMs: number,
): grpc.ChannelOptions {
  return {
    'grpc.max_receive_message_length': maxMessageBytes,
    'grpc.max_send_message_length': maxMessageBytes,
    'grpc.keepalive_time_ms': 30_000,
    'grpc.keepalive_timeout_ms': keepaliveTimeoutMs,
    'grpc-node.flow_control_window': 8 * 1024 * 1024,
  };
}

/** Binds `server` to host:port; a clear error naming the address when that fails (port in use). */
export function bindServer(server: grpc.Server, host: string, port: number): Promise<number> {
  const address = formatAddress(host, port);
  return new Promise((resolve, reject) => {
    server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (error, boundPort) => {
      if (error)
        reject(
          new Error(
            `cannot listen on ${address}${port !== 0 ? ` (is port ${port} in use? choose another with --main_process_port, or 0 for a free one)` : ''}: ${error.message}`,
          ),
        );
      else resolve(boundPort);
    });
  });
}
