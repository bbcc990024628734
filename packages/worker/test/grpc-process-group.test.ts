import * as grpc from '@grpc/grpc-js';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { callMetadata, protoPackage } from '../src/grpc-services.js';
import { CollectiveTimeoutError, ProcessGroupError } from '../src/process-group.js';
import { digest } from '../src/self-test.js';
import { startGroups } from './support/in-process-groups.js';

test('seven ranks over gRPC all-reduce lengths 0, 1, 6, 8, 10^4 and 2^20+3 with small pieces exactly and bit-identically', async () => {
  const groups = await startGroups(7, { maxPayloadBytes: 64 * 1024 });
  for (const length of [0, 1, 6, 8, 10_000, (1 << 20) + 3]) {
    for (const pieceBytes of length <= 8 ? [4, 12] : length === 10_000 ? [400] : [undefined]) {
      const data = groups.map((g) =>
        new Float32Array(length).map((_, i) => ((i * 13 + g.rank * 7) % 999) - 499),
      );
      await Promise.all(groups.map((g, r) => g.allReduce(data[r], 'sum', { pieceBytes })));
      for (let i = 0; i < length; i++) {
        let want = 0;
        for (let r = 0; r < 7; r++) want += ((i * 13 + r * 7) % 999) - 499;
        if (data[0][i] !== want) assert.fail(`length ${length} [${i}]: ${data[0][i]} != ${want}`);
      }
      assert.equal(new Set(data.map(digest)).size, 1, `length ${length}: ranks differ`);
    }
  }
  await Promise.all(groups.map((g) => g.close()));
});

test('broadcast, variable-size all-gather, objects and barrier work over gRPC and the group closes cleanly', async () => {
  const groups = await startGroups(3);
  const floats = groups.map((g) => new Float32Array(10).fill(g.rank === 2 ? 7 : 0));
  await Promise.all(groups.map((g, r) => g.broadcast(floats[r], 2)));
  for (const f of floats) assert.deepEqual([...f], new Array<number>(10).fill(7));
  const gathered = await Promise.all(
    groups.map((g) => g.allGather(new Float32Array(g.rank).fill(g.rank))),
  );
  for (const blocks of gathered)
    assert.deepEqual(
      blocks.map((b) => [...b]),
      [[], [1], [2, 2]],
    );
  const objects = await Promise.all(
    groups.map((g) => g.broadcastObject(g.rank === 1 ? { lr: 0.1, tags: ['a'] } : undefined, 1)),
  );
  for (const o of objects) assert.deepEqual(o, { lr: 0.1, tags: ['a'] });
  const all = await Promise.all(groups.map((g) => g.gatherObject({ rank: g.rank })));
  for (const a of all) assert.deepEqual(a, [{ rank: 0 }, { rank: 1 }, { rank: 2 }]);
  await Promise.all(groups.map((g) => g.barrier()));
  await Promise.all(groups.map((g) => g.close()));
  await assert.rejects(groups[0].barrier(), ProcessGroupError);
});

test('a collective one rank never calls fails on the others at the collective timeout, not before', async () => {
  const groups = await startGroups(3, { collectiveTimeoutMs: 1500 });
  const started = Date.now();
  const results = await Promise.allSettled([
    groups[0].allReduce(new Float32Array(4)),
    groups[1].allReduce(new Float32Array(4)),
  ]);
  const elapsed = Date.now() - started;
  assert.ok(elapsed >= 1500, `failed after ${elapsed} ms`);
  for (const r of results) {
    assert.equal(r.status, 'rejected');
    const error = (r as PromiseRejectedResult).reason as Error;
    assert.ok(error instanceof CollectiveTimeoutError, String(error));
    assert.match(error.message, /all_reduce #0 .* timed out after 1\.5 s/);
  }
  await Promise.all(groups.map((g) => g.close().catch(() => undefined)));
});

test('peer calls without the run token are refused', async () => {
  const groups = await startGroups(2);
  const client = new protoPackage.Peer(
    `127.0.0.1:${(groups[0] as unknown as { peers: string[] }).peers[0].split(':')[1]}`,
    grpc.credentials.createInsecure(),
  );
  const code = await new Promise<number | undefined>((resolve) =>
    client.Ping({ fromRank: 1 }, callMetadata('wrong', 1), (error) => resolve(error?.code)),
  );
  assert.equal(code, grpc.status.PERMISSION_DENIED);
  const linkCode = await new Promise<number | undefined>((resolve) => {
    const call = client.Link({ fromRank: 1 }, callMetadata('wrong', 1));
    call.on('error', (error: grpc.ServiceError) => resolve(error.code));
    call.on('end', () => resolve(undefined));
  });
  assert.equal(linkCode, grpc.status.PERMISSION_DENIED);
  client.close();
  await Promise.all(groups.map((g) => g.close()));
});

test('a message larger than the cap is refused by gRPC before it is decoded or acted on', async () => {
  const groups = await startGroups(2, { maxPayloadBytes: 1024 });
  const address = (groups[0] as unknown as { peers: string[] }).peers[0];
  const intruder = new protoPackage.Peer(address, grpc.credentials.createInsecure());
  // A valid-token Abort would fail the group; oversized, it must never reach the handler.
  const code = await new Promise<number | undefined>((resolve) =>
    intruder.Abort(
      { fromRank: 1, lostRank: 1, reason: 'x'.repeat(64 * 1024) },
      callMetadata('tok', 1),
      (error) => resolve(error?.code),
    ),
  );
  assert.equal(code, grpc.status.RESOURCE_EXHAUSTED);
  intruder.close();
  const data = groups.map(() => new Float32Array([1, 2]));
  await Promise.all(groups.map((g, r) => g.allReduce(data[r])));
  assert.deepEqual([...data[0]], [2, 4]);
  await Promise.all(groups.map((g) => g.close()));
});
