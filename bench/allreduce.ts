/**
 * All-reduce benchmark (not a test): `ner-launch test --benchmark`'s measurement
 * (packages/worker/src/allreduce-benchmark.ts: algbw, busbw = algbw × 2(n−1)/n as nccl-tests,
 * CPU seconds per rank, beside the raw transport between ranks 0 and 1 in the same run) on
 * 2 and 4 local processes. Writes bench/results/allreduce.json with machine info.
 *   node --import tsx bench/allreduce.ts [--sizes-mb 4,64,440] [--dtype fp32,fp16] [--buffers registered|plain] [--procs 2,4] [--out allreduce]
 * With --row-sparse it instead times Accelerator.reduceGradients on 2 processes over the
 * gradients of a MiniLM-sized step (word embeddings 30522 × 384 with ~600 touched rows per
 * rank, plus 11M dense floats), dense against row-sparse, and prints the JSON (no file).
 *   node --import tsx bench/allreduce.ts --row-sparse [--iterations 5]
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mulberry32, writeFileAtomic } from '@ner-launch/common';
import {
  Accelerator,
  formatBenchmarkTable,
  parseBenchmarkOptions,
  runAllReduceBenchmark,
  type BenchmarkReport,
  toEnv,
  standaloneWorkerEnv,
} from '@ner-launch/worker';

const self = fileURLToPath(import.meta.url);

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

/** Worker mode: runs the benchmark; rank 0 prints the report as one JSON line. */
async function worker(args: string[]): Promise<void> {
  const acc = await Accelerator.create();
  const report = await runAllReduceBenchmark(acc, parseBenchmarkOptions(args));
  if (acc.isMainProcess) process.stdout.write(`${JSON.stringify(report)}\n`);
  await acc.end();
}

const VOCAB = 30522;
const HIDDEN = 384;
const ROWS_PER_RANK = 600;
const DENSE_FLOATS = 11_000_000;

/** Worker mode of --row-sparse: rank 0 prints one JSON line per way of reducing. */
async function rowSparseWorker(iterations: number): Promise<void> {
  const acc = await Accelerator.create();
  const rand = mulberry32(1000 + acc.rank);
  const embed = new Float32Array(VOCAB * HIDDEN);
  for (let k = 0; k < ROWS_PER_RANK; k++) {
    const row = Math.floor(rand() * VOCAB);
    for (let j = 0; j < HIDDEN; j++) embed[row * HIDDEN + j] = rand() - 0.5;
  }
  const dense = new Float32Array(DENSE_FLOATS).map(() => rand() - 0.5);
  const grads = new Map([
    ['dense', new Float32Array(dense.length)],
    ['bert.embeddings.word_embeddings.weight', new Float32Array(embed.length)],
  ]);
  const ways = {
    dense: {},
    rowSparse: { rowSparse: new Map([['bert.embeddings.word_embeddings.weight', HIDDEN]]) },
  };
  const times: Record<string, number[]> = { dense: [], rowSparse: [] };
  const cpu: Record<string, number> = { dense: 0, rowSparse: 0 };
  // Alternated, so that the background load falls on both ways alike; the first round warms up.
  for (let i = 0; i <= iterations; i++) {
    for (const [way, options] of Object.entries(ways)) {
      grads.get('dense')!.set(dense);
      grads.get('bert.embeddings.word_embeddings.weight')!.set(embed);
      await acc.waitForEveryone();
      const cpuStart = process.cpuUsage();
      const start = performance.now();
      await acc.reduceGradients(grads, options);
      const seconds = (performance.now() - start) / 1000;
      const used = process.cpuUsage(cpuStart);
      if (i === 0) continue;
      times[way].push(seconds);
      cpu[way] += (used.user + used.system) / 1e6;
    }
  }
  const touched = new Set<number>();
  const reduced = grads.get('bert.embeddings.word_embeddings.weight')!;
  for (let row = 0; row < VOCAB; row++)
    if (reduced.subarray(row * HIDDEN, (row + 1) * HIDDEN).some((v) => v !== 0)) touched.add(row);
  for (const way of Object.keys(ways)) {
    const all = await acc.group.gatherObject(times[way]);
    const perOp = times[way].map((_, i) => Math.max(...all.map((t) => t[i])));
    const cpuPerRank = await acc.group.gatherObject(cpu[way] / iterations);
    if (acc.isMainProcess)
      process.stdout.write(
        `${JSON.stringify({ way, processes: acc.worldSize, unionRows: touched.size, iterations, meanSeconds: perOp.reduce((a, b) => a + b, 0) / perOp.length, minSeconds: Math.min(...perOp), secondsPerOp: perOp, cpuSecondsPerOpPerRank: cpuPerRank })}\n`,
      );
  }
  await acc.end();
}

async function runGroup(n: number, workerArgs: string[]): Promise<object[]> {
  const port = await new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
  const token = randomBytes(16).toString('hex');
  const outputs = await Promise.all(
    Array.from({ length: n }, (_, rank) => {
      const env = toEnv({
        ...standaloneWorkerEnv(),
        rank,
        localRank: rank,
        worldSize: n,
        localWorldSize: n,
        masterPort: port,
        runToken: token,
        rdzvTimeoutS: 60,
        collectiveTimeoutS: 600,
      });
      const child = spawn(process.execPath, ['--import', 'tsx', self, ...workerArgs], {
        env: { ...process.env, ...env },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let out = '';
      child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      return new Promise<string>((resolve, reject) =>
        child.on('close', (code) =>
          code === 0 ? resolve(out) : reject(new Error(`rank ${rank} exited with ${code}`)),
        ),
      );
    }),
  );
  return outputs[0]
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as object);
}

async function main(): Promise<void> {
  if (process.argv.includes('--worker')) return worker(process.argv.slice(2));
  const iterations = arg('--iterations', '5');
  if (process.argv.includes('--row-sparse-worker')) return rowSparseWorker(Number(iterations));
  if (process.argv.includes('--row-sparse')) {
    const rows = await runGroup(2, ['--row-sparse-worker', '--iterations', iterations]);
    process.stdout.write(
      `${JSON.stringify({ date: new Date().toISOString(), loadAverageAtEnd: loadavg(), reduceGradients: rows }, null, 2)}\n`,
    );
    return;
  }
  const procs = arg('--procs', '2,4').split(',').map(Number);
  const passed = [
    '--sizes-mb',
    arg('--sizes-mb', '4,64,440'),
    '--dtype',
    arg('--dtype', 'fp32'),
    '--buffers',
    arg('--buffers', 'registered'),
  ];
  const results = [];
  for (const n of procs) {
    const [report] = (await runGroup(n, ['--worker', ...passed])) as BenchmarkReport[];
    process.stderr.write(`${formatBenchmarkTable(report)}\n`);
    results.push(report);
  }
  const cpuList = cpus();
  const report = {
    benchmark: 'ring all-reduce (sum) on the data plane, as `ner-launch test --benchmark`',
    date: new Date().toISOString(),
    machine: {
      cpuModel: cpuList[0]?.model,
      cores: cpuList.length,
      totalMemoryGB: Math.round(totalmem() / 1e9),
      node: process.version,
      loadAverageAtEnd: loadavg(),
    },
    runs: results,
  };
  const out = join(dirname(self), 'results', `${arg('--out', 'allreduce')}.json`);
  await writeFileAtomic(out, `${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
}

await main();
