/** Process groups of several ranks inside one test process, over real gRPC on loopback. */
import { GrpcProcessGroup, type GrpcProcessGroupOptions } from '../../src/grpc-process-group.js';
import { freePort } from '../../../../test/support/spawn-workers.js';

/** `worldSize` groups that have completed their rendezvous; `extra` overrides options. */
export async function startGroups(
  worldSize: number,
  extra: Partial<GrpcProcessGroupOptions> = {},
): Promise<GrpcProcessGroup[]> {
  const masterPort = await freePort();
  return Promise.all(
    Array.from({ length: worldSize }, (_, rank) =>
      GrpcProcessGroup.create({
        rank,
        worldSize,
        masterAddr: '127.0.0.1',
        masterPort,
        localAddr: '127.0.0.1',
        token: 'tok',
        rendezvousTimeoutMs: 20_000,
        collectiveTimeoutMs: 30_000,
        ...extra,
      }),
    ),
  );
}
