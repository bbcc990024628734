import * as grpc from '@grpc/grpc-js';
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { bindServer } from '../src/grpc-services.js';
import { RendezvousRefusedError, RendezvousTimeoutError } from '../src/process-group.js';
import { RendezvousCoordinator, joinRendezvous, type JoinOptions } from '../src/rendezvous.js';
import { freePort } from '../../../test/support/spawn-workers.js';

const servers: grpc.Server[] = [];
after(() => servers.forEach((s) => s.forceShutdown()));

/** A coordinator for `worldSize` ranks on a fresh loopback port. */
async function startCoordinator(worldSize: number, timeoutMs: number, token = 'secret') {
  const server = new grpc.Server();
  servers.push(server);
  const port = await bindServer(server, '127.0.0.1', 0);
  const coordinator = new RendezvousCoordinator(worldSize, token, timeoutMs, `127.0.0.1:${port}`);
  coordinator.addTo(server);
  const join = (rank: number, extra: Partial<JoinOptions> = {}): Promise<string[]> =>
    joinRendezvous({
      coordinatorAddress: `127.0.0.1:${port}`,
      token,
      rank,
      worldSize,
      peerAddress: `127.0.0.1:${20000 + rank}`,
      timeoutMs,
      graceMs: 1000,
      ...extra,
    });
  return { coordinator, join, port };
}

test('every worker receives the same peer table once the world has joined', async () => {
  const { coordinator, join, port } = await startCoordinator(3, 10_000);
  const tables = await Promise.all([coordinator.wait(), join(2), join(1)]);
  const want = [`127.0.0.1:${port}`, '127.0.0.1:20001', '127.0.0.1:20002'];
  for (const table of tables) assert.deepEqual(table, want);
});

test('a joiner with a wrong token, a duplicate rank, a wrong world size or an out-of-range rank is refused and the job still forms', async () => {
  const { coordinator, join } = await startCoordinator(3, 10_000);
  await assert.rejects(
    join(1, { token: 'other job' }),
    (e: Error) => e instanceof RendezvousRefusedError && /wrong run token/.test(e.message),
  );
  await assert.rejects(join(1, { worldSize: 4 }), /world size 4 differs/);
  await assert.rejects(join(3), /rank must be in 1\.\.2/);
  const first = join(1);
  await new Promise((r) => setTimeout(r, 200));
  await assert.rejects(join(1, { peerAddress: '127.0.0.1:30001' }), /rank 1 already joined/);
  await Promise.all([first, join(2), coordinator.wait()]);
  await assert.rejects(
    join(2, { peerAddress: '127.0.0.1:30002' }),
    /already complete \(extra joiner\)/,
  );
});

test('a malformed peer address is refused', async () => {
  const { join, coordinator } = await startCoordinator(2, 10_000);
  await assert.rejects(join(1, { peerAddress: 'no port here' }), /malformed peer address/);
  coordinator.dispose();
});

test('past the timeout every waiting worker fails with an error naming the ranks that never joined', async () => {
  const { coordinator, join } = await startCoordinator(4, 800);
  const started = Date.now();
  const results = await Promise.allSettled([coordinator.wait(), join(1), join(3)]);
  const elapsed = Date.now() - started;
  assert.ok(elapsed >= 750 && elapsed < 5000, `failed after ${elapsed} ms`);
  for (const result of results) {
    assert.equal(result.status, 'rejected');
    const error = (result as PromiseRejectedResult).reason as RendezvousTimeoutError;
    assert.ok(error instanceof RendezvousTimeoutError, String(error));
    assert.deepEqual(error.missingRanks, [2]);
    assert.match(error.message, /rank 2 of 4 never joined/);
  }
});

test('a worker whose coordinator never comes up fails at the rendezvous timeout naming rank 0', async () => {
  const port = await freePort();
  const started = Date.now();
  await assert.rejects(
    joinRendezvous({
      coordinatorAddress: `127.0.0.1:${port}`,
      token: 't',
      rank: 1,
      worldSize: 2,
      peerAddress: '127.0.0.1:1',
      timeoutMs: 500,
      graceMs: 200,
    }),
    (e: Error) =>
      e instanceof RendezvousTimeoutError &&
      e.missingRanks[0] === 0 &&
      /rank 0's coordinator/.test(e.message),
  );
  assert.ok(Date.now() - started >= 650);
});
