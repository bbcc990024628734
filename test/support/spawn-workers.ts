/**
 * Test helper standing in for the launcher: starts `worldSize` worker processes
 * (`node --import tsx script`) with the worker env (RANK, WORLD_SIZE, MASTER_ADDR, ...),
 * collects their stdout/stderr and exit status, and kills them all if the test gives up.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { toEnv, type WorkerEnv } from '@ner-launch/worker';

/** A finished worker. */
export interface WorkerResult {
  rank: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Milliseconds from spawn to exit. */
  elapsedMs: number;
}

/** A free TCP port on 127.0.0.1 (tiny race with other binders; fine for tests). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Options of `spawnWorkers`. */
export interface SpawnOptions {
  worldSize: number;
  script: string;
  args?: string[];
  /** Ranks to start (default all); the others never join. */
  ranks?: number[];
  env?: Record<string, string>;
  /** Per-rank env overrides (e.g. a wrong token). */
  rankEnv?: (rank: number) => Record<string, string>;
  rdzvTimeoutS?: number;
  collectiveTimeoutS?: number;
  /** Kill everything after this long. */
  killAfterMs?: number;
  /** Called with each child right after spawning (fault injection). */
  onSpawn?: (rank: number, child: ChildProcess) => void;
}

/** The env one test worker gets. */
export function testWorkerEnv(
  rank: number,
  worldSize: number,
  port: number,
  token: string,
  o: SpawnOptions,
): Record<string, string> {
  const env: WorkerEnv = {
    rank,
    localRank: rank,
    worldSize,
    localWorldSize: worldSize,
    groupRank: 0,
    masterAddr: '127.0.0.1',
    masterPort: port,
    localAddr: '127.0.0.1',
    mixedPrecision: 'no',
    backend: 'cpu',
    restartCount: 0,
    runToken: token,
    rdzvTimeoutS: o.rdzvTimeoutS ?? 30,
    collectiveTimeoutS: o.collectiveTimeoutS ?? 60,
  };
  return { ...toEnv(env), NER_LOG_FORMAT: 'json', ...o.env, ...(o.rankEnv?.(rank) ?? {}) };
}

/** Starts the workers and resolves when all have exited (results indexed by rank order of `ranks`). */
export async function spawnWorkers(o: SpawnOptions): Promise<WorkerResult[]> {
  const port = await freePort();
  const token = randomBytes(16).toString('hex');
  const ranks = o.ranks ?? Array.from({ length: o.worldSize }, (_, r) => r);
  const children: ChildProcess[] = [];
  const results = ranks.map(
    (rank) =>
      new Promise<WorkerResult>((resolve) => {
        const started = Date.now();
        const env = { ...process.env, ...testWorkerEnv(rank, o.worldSize, port, token, o) };
        const child = spawn(process.execPath, ['--import', 'tsx', o.script, ...(o.args ?? [])], {
          env,
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        children.push(child);
        let stdout = '';
        let stderr = '';
        child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
        child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
        child.on('close', (code, signal) =>
          resolve({ rank, code, signal, stdout, stderr, elapsedMs: Date.now() - started }),
        );
        o.onSpawn?.(rank, child);
      }),
  );
  const killer = setTimeout(() => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  }, o.killAfterMs ?? 120_000);
  try {
    return await Promise.all(results);
  } finally {
    clearTimeout(killer);
  }
}

/** A readable summary of failed workers for assertion messages. */
export function describeFailures(results: WorkerResult[]): string {
  return results
    .filter((r) => r.code !== 0)
    .map((r) => `rank ${r.rank}: code ${r.code} signal ${r.signal}\n${r.stderr.slice(-3000)}`)
    .join('\n');
}
