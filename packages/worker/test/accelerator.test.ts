import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Accelerator } from '../src/accelerator.js';
import { GrpcProcessGroup } from '../src/grpc-process-group.js';
import { standaloneWorkerEnv, type MixedPrecision, type WorkerEnv } from '../src/worker-env.js';
import { freePort } from '../../../test/support/spawn-workers.js';

/** Accelerators of `n` in-process ranks (real gRPC for n > 1), launched with `mixedPrecision`. */
async function accelerators(
  n: number,
  mixedPrecision: MixedPrecision = 'no',
  override?: MixedPrecision,
): Promise<Accelerator[]> {
  const port = await freePort();
  const envs: WorkerEnv[] = Array.from({ length: n }, (_, rank) => ({
    ...standaloneWorkerEnv(),
    mixedPrecision,
    rank,
    localRank: rank,
    worldSize: n,
    localWorldSize: n,
    masterPort: port,
    runToken: 'tok',
    rdzvTimeoutS: 20,
    collectiveTimeoutS: 30,
  }));
  const mixed = override === undefined ? {} : { mixedPrecision: override };
  if (n === 1) return [await Accelerator.create({ env: envs[0], ...mixed })];
  const groups = await Promise.all(
    envs.map((env) =>
      GrpcProcessGroup.create({
        rank: env.rank,
        worldSize: n,
        masterAddr: '127.0.0.1',
        masterPort: port,
        localAddr: '127.0.0.1',
        token: 'tok',
        rendezvousTimeoutMs: 20_000,
        collectiveTimeoutMs: 30_000,
      }),
    ),
  );
  return Promise.all(envs.map((env, r) => Accelerator.create({ env, group: groups[r], ...mixed })));
}

/** Each rank's gradient `w` after reduceGradients, rank r handing in `values[r]`. */
async function reduced(accs: Accelerator[], values: number[][]): Promise<number[][]> {
  const grads = accs.map((_, r) => ({ w: Float32Array.from(values[r]) }));
  await Promise.all(accs.map((a, r) => a.reduceGradients(grads[r])));
  await Promise.all(accs.map((a) => a.end()));
  return grads.map((g) => [...g.w]);
}

test("a launched script's gradient all-reduce follows the launch config's mixed_precision, unless the script names its own", async () => {
  // 1 + 2^-10 is exact in float32 and fp16, 1 in bf16 (7 fraction bits); 1 + 2^-12 is 1 in fp16.
  const bf16 = await accelerators(2, 'bf16');
  assert.deepEqual(
    bf16.map((a) => a.mixedPrecision),
    ['bf16', 'bf16'],
  );
  assert.deepEqual(await reduced(bf16, [[1 + 2 ** -10], [1 + 2 ** -10]]), [[1], [1]]);
  // A world of one rounds to the wire format too, so results do not depend on the worker count.
  assert.deepEqual(await reduced(await accelerators(1, 'fp16'), [[1 + 2 ** -12]]), [[1]]);
  assert.deepEqual(await reduced(await accelerators(1, 'no'), [[1 + 2 ** -12]]), [[1 + 2 ** -12]]);
  // Accelerator.create({ mixedPrecision }) wins over the launch config, as accelerate's argument.
  const own = await accelerators(2, 'bf16', 'no');
  assert.equal(own[0].mixedPrecision, 'no');
  assert.deepEqual(await reduced(own, [[1 + 2 ** -10], [1 + 2 ** -10]]), [
    [1 + 2 ** -10],
    [1 + 2 ** -10],
  ]);
});

test('a standalone process gets a world of one without any server', async () => {
  const [acc] = await accelerators(1);
  assert.equal(acc.worldSize, 1);
  assert.ok(acc.isMainProcess && acc.isLocalMainProcess);
  const grads = { w: new Float32Array([3, 4]) };
  await acc.reduceGradients(grads);
  assert.deepEqual([...grads.w], [3, 4]);
  await acc.end();
});

test('reduceGradients averages over ranks and clipping after it scales every rank identically to the global norm', async () => {
  const accs = await accelerators(2);
  const grads = accs.map(
    (a) =>
      new Map([
        ['w', new Float32Array([a.rank === 0 ? 6 : 0, 8])],
        ['b', new Float32Array([0])],
      ]),
  );
  await Promise.all(accs.map((a, r) => a.reduceGradients(grads[r])));
  for (const g of grads) assert.deepEqual([...g.get('w')!], [3, 8]);
  const norms = accs.map((a, r) => a.clipGradNorm(grads[r], 1));
  assert.ok(Math.abs(norms[0] - Math.sqrt(73)) < 1e-12);
  for (const g of grads) {
    const w = g.get('w')!;
    assert.ok(Math.abs(Math.hypot(w[0], w[1]) - 1) < 1e-5);
    assert.deepEqual([...w], [...grads[0].get('w')!]);
  }
  await Promise.all(accs.map((a) => a.end()));
});

test('gatherForMetrics returns each sample once, in epoch order, without the padded duplicates', async () => {
  const accs = await accelerators(3);
  const samplers = accs.map((a) => {
    a.setSeed(11);
    return a.prepare({ datasetLength: 8, batchSize: 2 });
  });
  const order = samplers[0].order(0);
  const gathered: number[][] = accs.map(() => []);
  const batches = samplers.map((s) => s.batches(0));
  for (let j = 0; j < batches[0].length; j++) {
    const out = await Promise.all(
      accs.map((a, r) => a.gatherForMetrics(batches[r][j].indices, batches[r][j])),
    );
    out.forEach((o, r) => gathered[r].push(...o));
  }
  for (const g of gathered) assert.deepEqual(g, order);
  await Promise.all(accs.map((a) => a.end()));
});

test('saveState writes once from the main process and everyone returns after it; a failure on rank 0 fails all ranks', async () => {
  const accs = await accelerators(2);
  const dir = join(await mkdtemp(join(tmpdir(), 'acc-state-')), 'checkpoint');
  let writes = 0;
  await Promise.all(
    accs.map((a) =>
      a.saveState(dir, async (tmp) => {
        writes++;
        await writeFile(join(tmp, 'state.json'), JSON.stringify({ step: 3 }));
      }),
    ),
  );
  assert.equal(writes, 1);
  const loaded = await Promise.all(
    accs.map((a) =>
      a.loadState(
        dir,
        async (d) => JSON.parse(await readFile(join(d, 'state.json'), 'utf8')) as object,
      ),
    ),
  );
  for (const l of loaded) assert.deepEqual(l, { step: 3 });
  const failures = await Promise.allSettled(
    accs.map((a) =>
      a.saveState(join(dir, 'other'), () => {
        throw new Error('disk full');
      }),
    ),
  );
  for (const f of failures)
    assert.match(
      String((f as PromiseRejectedResult).reason),
      /rank 0 failed to save state .*disk full/,
    );
  await Promise.all(accs.map((a) => a.end()));
});

test('only the main process prints, and the main logger is silent elsewhere', async () => {
  const accs = await accelerators(2);
  assert.equal(accs[1].mainLog.level, 'silent');
  assert.notEqual(accs[0].mainLog.level, 'silent');
  await Promise.all(accs.map((a) => a.waitForEveryone()));
  await Promise.all(accs.map((a) => a.end()));
});
