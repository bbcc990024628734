/**
 * The check `ner-launch test` launches on every worker: rendezvous, all-reduce over several
 * sizes and wire formats, broadcast, all-gather of variable sizes, object exchange, barrier
 * and data sharding, each verified exactly; the main process prints one success line.
 * Standalone: `RANK=.. WORLD_SIZE=.. MASTER_ADDR=.. MASTER_PORT=.. NER_RUN_TOKEN=.. node --import tsx self-test.ts`.
 */
import { fileURLToPath } from 'node:url';
import { Accelerator } from './accelerator.js';

/** Path of the script launchers run on each worker (`self-test-main.ts`). */
export const SELF_TEST_SCRIPT = fileURLToPath(new URL('./self-test-main.ts', import.meta.url));

/** Line the main process prints when every check passed. */
export const SELF_TEST_SUCCESS = 'ner-launch test: all checks passed';

/** FNV-1a of the bytes of `data`, to compare arrays across ranks cheaply. */
export function digest(data: Float32Array | Uint8Array): string {
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i], 0x01000193);
  return `${(h >>> 0).toString(16)}:${bytes.length}`;
}

function fail(what: string): never {
  throw new Error(`self-test: ${what}`);
}

/** Runs every check on `acc`; resolves with the success line (printed by the caller on rank 0). */
export async function runSelfTest(
  acc: Accelerator,
  sizes = [0, 1, 7, 1000, 65_537, (1 << 20) + 3],
): Promise<string> {
  const { rank, worldSize, group } = acc;
  const value = (r: number, i: number): number => ((i * 7 + r * 13) % 1001) - 500;
  for (const n of sizes) {
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = value(rank, i);
    await group.allReduce(data, 'sum');
    for (let i = 0; i < n; i++) {
      let want = 0;
      for (let r = 0; r < worldSize; r++) want += value(r, i);
      if (data[i] !== want)
        fail(`all-reduce of ${n} elements: element ${i} is ${data[i]}, expected ${want}`);
    }
  }
  for (const wire of ['fp32', 'fp16', 'bf16'] as const) {
    const data = new Float32Array(4099).map((_, i) => Math.sin(i + rank));
    await group.allReduce(data, 'mean', { wire });
    const digests = await group.gatherObject(digest(data));
    if (new Set(digests).size !== 1)
      fail(`all-reduce mean (wire ${wire}) differs between ranks: ${digests.join(' ')}`);
  }
  const root = worldSize - 1;
  const b = new Float32Array(5000).map((_, i) => (rank === root ? i * 0.5 : -1));
  await group.broadcast(b, root);
  if (b.some((v, i) => v !== i * 0.5)) fail(`broadcast from rank ${root} delivered wrong data`);
  const gathered = await group.allGather(new Float32Array(rank + 1).fill(rank));
  gathered.forEach((g, r) => {
    if (g.length !== r + 1 || g.some((v) => v !== r))
      fail(`all-gather: block of rank ${r} is wrong`);
  });
  const config = await group.broadcastObject(
    rank === 0 ? { check: 'object', ranks: worldSize } : undefined,
    0,
  );
  if (config.ranks !== worldSize) fail('broadcastObject delivered a wrong object');
  const names = await group.gatherObject(`rank-${rank}`);
  if (names.some((n, r) => n !== `rank-${r}`)) fail(`gatherObject returned ${names.join(',')}`);
  await acc.waitForEveryone();
  // Data sharding: 10 samples, batch 2: every sample exactly once over the ranks, padding dropped.
  acc.setSeed(42);
  const sampler = acc.prepare({ datasetLength: 10, batchSize: 2 });
  const seen: number[] = [];
  for (const batch of sampler.batches(0))
    seen.push(...(await acc.gatherForMetrics(batch.indices, batch)));
  if ([...seen].sort((x, y) => x - y).join(',') !== '0,1,2,3,4,5,6,7,8,9')
    fail(`data sharding: samples seen were ${seen.join(',')}`);
  return `${SELF_TEST_SUCCESS} (${worldSize} process${worldSize === 1 ? '' : 'es'}: rendezvous, all-reduce of ${sizes.length} sizes and 3 wire formats, broadcast, all-gather, objects, barrier, data sharding)`;
}

/** Runs the check on this worker with an Accelerator made from the worker env. */
export async function runSelfTestWorker(): Promise<void> {
  const acc = await Accelerator.create();
  try {
    const line = await runSelfTest(acc);
    acc.print(line);
  } finally {
    await acc.end();
  }
}
