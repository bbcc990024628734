import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { describeFailures, spawnWorkers } from '../../../test/support/spawn-workers.js';

const worker = fileURLToPath(new URL('./fixtures/allreduce-matrix-worker.ts', import.meta.url));

// World size 1 runs the same worker without gRPC; 7 is covered in-process by
// grpc-process-group.test.ts (7 processes would overload a 2-core CI machine). On Linux the
// ranks of one machine pass large payloads through shared memory; the last case keeps them
// on the Unix socket (NER_LAUNCH_SHM=0), as between machines.
const sharedMemory = process.platform === 'linux';
for (const [worldSize, shm] of [
  [1, sharedMemory],
  [2, sharedMemory],
  [3, sharedMemory],
  [4, sharedMemory],
  [2, false],
] as const) {
  const over = shm || worldSize === 1 ? '' : ' with payloads on the socket';
  test(`all-reduce over ${worldSize} process(es)${over} is exact on integers, within 1e-6 of float64 on random data, and bit-identical on every rank`, async () => {
    const results = await spawnWorkers({
      worldSize,
      script: worker,
      collectiveTimeoutS: 60,
      env: shm ? {} : { NER_LAUNCH_SHM: '0' },
    });
    assert.ok(
      results.every((r) => r.code === 0),
      describeFailures(results),
    );
    const reports = results.map(
      (r) =>
        JSON.parse(r.stdout.trim().split('\n').at(-1)!) as {
          rank: number;
          digests: string[];
          failures: string[];
          worstRelative: number;
          transport: string;
        },
    );
    if (worldSize > 1)
      for (const report of reports)
        assert.equal(
          report.transport,
          shm ? 'shared memory (headers over a unix socket)' : 'unix socket',
        );
    for (const report of reports) {
      assert.deepEqual(report.failures, [], `rank ${report.rank} failed checks`);
      assert.ok(report.worstRelative <= 1e-6);
    }
    for (const report of reports.slice(1))
      assert.deepEqual(
        report.digests,
        reports[0].digests,
        `rank ${report.rank} differs from rank 0`,
      );
  });
}
