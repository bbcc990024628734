import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { describeFailures, spawnWorkers } from '../../../test/support/spawn-workers.js';

const worker = fileURLToPath(new URL('./fixtures/allreduce-matrix-worker.ts', import.meta.url));

// World size 1 runs the same worker without gRPC; 7 is covered in-process by
// grpc-process-group.test.ts (7 processes would overload a 2-core CI machine).
for (const worldSize of [1, 2, 3, 4]) {
  test(`all-reduce over ${worldSize} process(es) is exact on integers, within 1e-6 of float64 on random data, and bit-identical on every rank`, async () => {
    const results = await spawnWorkers({ worldSize, script: worker, collectiveTimeoutS: 60 });
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
        },
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
