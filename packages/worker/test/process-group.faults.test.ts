import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { spawnWorkers, type WorkerResult } from '../../../test/support/spawn-workers.js';

const worker = fileURLToPath(new URL('./fixtures/fault-worker.ts', import.meta.url));

interface ErrorReport {
  rank: number;
  event: 'error';
  name: string;
  message: string;
  missing?: number[];
  unresponsive?: number[];
  lost?: number;
  collectiveStartedAt: number;
  at: number;
}

function errorOf(result: WorkerResult): ErrorReport {
  const line = result.stdout
    .trim()
    .split('\n')
    .find((l) => l.includes('"event":"error"'));
  assert.ok(
    line,
    `rank ${result.rank} reported no error (code ${result.code}):\n${result.stderr.slice(-2000)}`,
  );
  return JSON.parse(line) as ErrorReport;
}

/** Calls `act(child)` on `victim` once every rank printed 'ready' and ran a few steps. */
function whenRunning(worldSize: number, victim: number, act: (child: ChildProcess) => void) {
  const children = new Map<number, ChildProcess>();
  let ready = 0;
  return (rank: number, child: ChildProcess): void => {
    children.set(rank, child);
    child.stdout!.on('data', (d: Buffer) => {
      if (!d.toString().includes('"event":"ready"')) return;
      if (++ready === worldSize) setTimeout(() => act(children.get(victim)!), 500);
    });
  };
}

test('a stopped (SIGSTOP) peer makes the others fail at the collective timeout, not before, naming it', async () => {
  const timeoutS = 3;
  let stoppedAt = 0;
  let victim: ChildProcess | undefined;
  const results = await spawnWorkers({
    worldSize: 3,
    script: worker,
    collectiveTimeoutS: timeoutS,
    onSpawn: whenRunning(3, 1, (child) => {
      victim = child;
      stoppedAt = Date.now();
      child.kill('SIGSTOP');
      // Clean up the stopped process once the others are done.
      setTimeout(
        () => {
          child.kill('SIGKILL');
        },
        (timeoutS + 8) * 1000,
      );
    }),
  });
  assert.ok(victim && stoppedAt > 0);
  for (const r of results.filter((r) => r.rank !== 1)) {
    const e = errorOf(r);
    assert.equal(e.name, 'CollectiveTimeoutError', e.message);
    assert.ok(
      e.at - e.collectiveStartedAt >= timeoutS * 1000,
      `rank ${r.rank} failed ${e.at - e.collectiveStartedAt} ms into the collective`,
    );
    assert.ok(
      e.at - stoppedAt <= (timeoutS + 5) * 1000,
      `rank ${r.rank} failed ${e.at - stoppedAt} ms after the stop`,
    );
    assert.deepEqual(e.unresponsive, [1]);
    assert.match(e.message, /not answering a liveness probe: rank 1/);
    assert.notEqual(r.code, 0);
  }
});

test('a killed peer makes every other rank fail within seconds, naming the lost rank', async () => {
  let killedAt = 0;
  const results = await spawnWorkers({
    worldSize: 4,
    script: worker,
    collectiveTimeoutS: 60,
    onSpawn: whenRunning(4, 2, (child) => {
      killedAt = Date.now();
      child.kill('SIGKILL');
    }),
  });
  for (const r of results.filter((r) => r.rank !== 2)) {
    const e = errorOf(r);
    assert.equal(e.name, 'PeerLostError', e.message);
    assert.ok(e.at - killedAt < 5000, `rank ${r.rank} noticed after ${e.at - killedAt} ms`);
    assert.match(e.message, /rank 2/);
  }
});

test('a worker that never joins makes the others fail at the rendezvous timeout, naming it', async () => {
  const started = Date.now();
  const results = await spawnWorkers({
    worldSize: 3,
    ranks: [0, 1],
    script: worker,
    rdzvTimeoutS: 3,
  });
  for (const r of results) {
    const e = errorOf(r);
    assert.equal(e.name, 'RendezvousTimeoutError', e.message);
    assert.deepEqual(e.missing, [2]);
    assert.match(e.message, /rank 2 of 3 never joined/);
    assert.ok(e.at - started >= 3000);
  }
});

test('a worker with a wrong token is refused, and the job then fails at the rendezvous naming that rank', async () => {
  const results = await spawnWorkers({
    worldSize: 3,
    script: worker,
    rdzvTimeoutS: 3,
    rankEnv: (rank): Record<string, string> =>
      rank === 2 ? { NER_RUN_TOKEN: 'not-the-run-token' } : {},
  });
  const intruder = errorOf(results[2]);
  assert.equal(intruder.name, 'RendezvousRefusedError');
  assert.match(intruder.message, /wrong run token/);
  for (const r of results.slice(0, 2)) assert.deepEqual(errorOf(r).missing, [2]);
});
