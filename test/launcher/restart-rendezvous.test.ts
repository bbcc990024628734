// A multi-machine restart whose peer launcher is gone: the restarted group gives up at
// --restart_rdzv_timeout, naming the rank that never came back, instead of waiting the full
// --rdzv_timeout. Two launchers on 127.0.0.1 and 127.0.0.2 act as two machines.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { attemptRdzvTimeoutS } from '@ner-launch/launcher';

const BIN = fileURLToPath(new URL('../../packages/launcher/bin/ner-launch.mjs', import.meta.url));
const COLLECTIVE_WORKER = fileURLToPath(
  new URL('../../packages/launcher/test/fixtures/collective-worker.ts', import.meta.url),
);

interface Run {
  code: number | null;
  stderr: string;
}

const launchers = new Set<ChildProcess>();
after(() => {
  for (const child of launchers) child.kill('SIGTERM');
});

function start(args: string[]): Promise<Run> {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: {
      ...process.env,
      NER_LAUNCH_CONFIG_DIR: mkdtempSync(join(tmpdir(), 'ner-restart-cfg-')),
      NER_LOG_FORMAT: 'json',
      NER_RUN_TOKEN: 'c'.repeat(32),
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  launchers.add(child);
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve) =>
    child.once('close', (code) => {
      launchers.delete(child);
      resolve({ code, stderr });
    }),
  );
}

function workerPid(out: string, machine: string): number | undefined {
  const ps = spawnSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' }).stdout;
  const line = ps
    .split('\n')
    .find(
      (l) =>
        l.includes('--import') &&
        l.includes(COLLECTIVE_WORKER) &&
        l.includes(`out=${out}`) &&
        l.includes(machine),
    );
  return line === undefined ? undefined : Number(line.trim().split(/\s+/)[0]);
}

function connectedTo(pid: number, port: number): boolean {
  const ss = spawnSync('ss', ['-tnpH', 'state', 'established', `dport = :${port}`], {
    encoding: 'utf8',
  }).stdout;
  return ss.includes(`pid=${pid},`);
}

describe('restart rendezvous timeout', () => {
  it('applies only to restarts across several machines, capped by --rdzv_timeout', () => {
    const config = { numMachines: 2, rdzvTimeoutS: 600, restartRdzvTimeoutS: 120 };
    assert.equal(attemptRdzvTimeoutS(config, 0), 600);
    assert.equal(attemptRdzvTimeoutS(config, 1), 120);
    assert.equal(attemptRdzvTimeoutS({ ...config, rdzvTimeoutS: 30 }, 2), 30);
    assert.equal(attemptRdzvTimeoutS({ ...config, numMachines: 1 }, 1), 600);
  });

  it(
    'gives up a restart whose peer machine is gone at --restart_rdzv_timeout, naming the missing rank',
    { timeout: 120_000 },
    async () => {
      const out = mkdtempSync(join(tmpdir(), 'ner-restart-'));
      const port = 20000 + ((process.pid + 11) % 10000);
      const common = [
        '--cpu',
        '--num_machines',
        '2',
        '--num_processes',
        '2',
        '--main_process_ip',
        '127.0.0.1',
        '--main_process_port',
        String(port),
        '--collective_timeout',
        '10',
      ];
      const worker = (machine: string): string[] => [
        COLLECTIVE_WORKER,
        'steps=100000',
        'pause=20',
        `out=${out}`,
        machine,
      ];
      const machine0 = start([
        ...common,
        '--machine_rank',
        '0',
        '--max_restarts',
        '1',
        '--restart_rdzv_timeout',
        '2',
        ...worker('m=0'),
      ]);
      // Machine 1 has no restarts left: once its worker dies, its launcher is gone for good.
      const machine1 = start([
        ...common,
        '--machine_rank',
        '1',
        '--local_addr',
        '127.0.0.2',
        ...worker('m=1'),
      ]);
      let pid: number | undefined;
      const deadline = Date.now() + 60_000;
      while (pid === undefined && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 200));
        pid = workerPid(out, 'm=1');
      }
      assert.ok(pid !== undefined, 'the worker of machine 1 started');
      // Connected to rank 0's server: it has joined (rank 0 is there already), so the kill
      // lands after the first rendezvous, mid-collectives.
      while (!connectedTo(pid, port) && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 200));
      assert.ok(connectedTo(pid, port), 'the worker of machine 1 reached the rendezvous');
      await new Promise((r) => setTimeout(r, 1000));
      process.kill(pid, 'SIGKILL');
      const gone = await machine1;
      assert.notEqual(gone.code, 0);
      const run = await machine0;
      assert.notEqual(run.code, 0);
      assert.match(run.stderr, /restart 1 of 1 \(every machine's workers must rejoin within 2 s\)/);
      assert.match(run.stderr, /rendezvous timed out after 2 s: rank 1 of 2 never joined/);
    },
  );
});
