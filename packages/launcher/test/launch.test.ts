import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { resolveLaunchConfig, type LaunchConfig, type MachineFacts } from '../src/launch-config.js';
import type { LaunchFlags } from '../src/launch-options.js';
import { launch } from '../src/launch.js';

const FAKE_WORKER = fileURLToPath(new URL('./fixtures/fake-worker.mjs', import.meta.url));
const noGpus: MachineFacts = { detectGpuIds: () => [], tensorflowInstalled: () => false };

class Capture extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: string, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

function config(flags: LaunchFlags, args: string[], machine = noGpus): LaunchConfig {
  const { config } = resolveLaunchConfig(
    { cpu: true, mainProcessPort: 0, monitorInterval: 0.05, ...flags },
    undefined,
    { kind: 'script', path: FAKE_WORKER, args },
    machine,
  );
  return { ...config, termGraceS: 1 };
}

async function run(cfg: LaunchConfig) {
  const stdout = new Capture();
  const stderr = new Capture();
  const result = await launch(cfg, {
    console: { stdout, stderr },
    env: { ...process.env, NER_RUN_TOKEN: '' },
  });
  return { result, stdout: stdout.text, stderr: stderr.text };
}

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'ner-launch-test-'));
}

async function waitFor(check: () => boolean, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 50));
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function pidsIn(dir: string): number[] {
  return readdirSync(dir).flatMap((f) =>
    readFileSync(join(dir, f), 'utf8').trim().split('\n').map(Number),
  );
}

describe('launch', () => {
  it('runs every worker with its contract environment and prefixes their output by rank', async () => {
    const out = tempDir();
    const { result, stdout, stderr } = await run(
      config({ numProcesses: 2 }, [`env-out=${out}`, 'say=hello']),
    );
    assert.equal(result.exitCode, 0);
    assert.equal(result.attempts, 1);
    for (const rank of [0, 1]) {
      const env = JSON.parse(readFileSync(join(out, `rank-${rank}.json`), 'utf8')) as Record<
        string,
        string
      >;
      assert.equal(env.RANK, String(rank));
      assert.equal(env.WORLD_SIZE, '2');
      assert.equal(env.MASTER_PORT, String(result.mainProcessPort));
      assert.equal(env.CUDA_VISIBLE_DEVICES, '');
      assert.equal(env.OMP_NUM_THREADS, '1');
      assert.match(env.NER_RUN_TOKEN, /^[0-9a-f]{32}$/);
      assert.match(stdout, new RegExp(`^\\[rank ${rank}\\] hello line1$`, 'm'));
      assert.match(stdout, new RegExp(`^\\[rank ${rank}\\] hello line2$`, 'm'));
      assert.match(stderr, new RegExp(`^\\[rank ${rank}\\] err hello$`, 'm'));
    }
    assert.notEqual(result.mainProcessPort, 0, '--main_process_port 0 picked a port');
  });

  it('gives worker i the GPU gpu_ids[i] as CUDA_VISIBLE_DEVICES', async () => {
    const out = tempDir();
    const gpus: MachineFacts = {
      detectGpuIds: () => [0, 1, 2, 3],
      tensorflowInstalled: () => false,
    };
    const cfg = config(
      { cpu: undefined, multiGpu: true, gpuIds: '3,1', backend: 'cpu' },
      [`env-out=${out}`],
      gpus,
    );
    const { result } = await run(cfg);
    assert.equal(result.exitCode, 0);
    const visible = [0, 1].map(
      (r) =>
        (JSON.parse(readFileSync(join(out, `rank-${r}.json`), 'utf8')) as Record<string, string>)
          .CUDA_VISIBLE_DEVICES,
    );
    assert.deepEqual(visible, ['3', '1']);
  });

  it('stops every worker within 10 s when one of 4 is killed with SIGKILL, naming its rank and signal', async () => {
    const pids = tempDir();
    const cfg = config({ numProcesses: 4 }, ['sleep=60000', `pids=${pids}`, 'grandchild']);
    const running = run(cfg);
    await waitFor(() => readdirSync(pids).length === 4, 30_000);
    const victim = Number(readFileSync(join(pids, '2-0.pid'), 'utf8').split('\n')[0]);
    const killedAt = Date.now();
    process.kill(victim, 'SIGKILL');
    const { result, stderr } = await running;
    const elapsed = Date.now() - killedAt;
    assert.ok(elapsed < 10_000, `all workers gone after ${elapsed} ms`);
    assert.notEqual(result.exitCode, 0);
    assert.equal(result.exitCode, 128 + 9);
    assert.equal(result.last.rootCause?.rank, 2);
    assert.equal(result.last.rootCause?.signal, 'SIGKILL');
    assert.match(stderr, /rank {7}: 2 \(local rank 2\)/);
    assert.match(stderr, /ended by {3}: signal SIGKILL \(9\)/);
    const all = pidsIn(pids);
    assert.equal(all.length, 8, 'four workers and their four grandchildren');
    await waitFor(() => all.every((p) => !alive(p)), 3000);
  });

  it('names the root cause with its exit code and stderr tail', async () => {
    const { result, stderr } = await run(config({ numProcesses: 3 }, ['exit=1:7', 'sleep=200']));
    assert.equal(result.exitCode, 7);
    assert.equal(result.last.rootCause?.rank, 1);
    assert.match(stderr, /ended by {3}: exit code 7/);
    assert.match(stderr, /stderr tail:\n {4}fake worker rank 1 failing with 7/);
  });

  it('restarts the group after one death with --max_restarts 1 and ends in success with restart count 1', async () => {
    const pids = tempDir();
    const { result } = await run(
      config({ numProcesses: 2, maxRestarts: 1 }, ['fail-until=1', `pids=${pids}`]),
    );
    assert.equal(result.exitCode, 0);
    assert.equal(result.restartCount, 1);
    assert.equal(result.attempts, 2);
    const started = readdirSync(pids);
    for (const f of ['0-0.pid', '0-1.pid', '1-1.pid'])
      assert.ok(started.includes(f), `${f} in ${started}`);
  });

  it('makes exactly 3 attempts for an always-failing worker with --max_restarts 2', async () => {
    const pids = tempDir();
    const { result, stderr } = await run(
      config({ numProcesses: 2, maxRestarts: 2 }, ['fail-until=99', `pids=${pids}`]),
    );
    assert.equal(result.attempts, 3);
    assert.equal(result.exitCode, 3);
    assert.deepEqual(
      readdirSync(pids)
        .filter((f) => f.startsWith('0-'))
        .sort(),
      ['0-0.pid', '0-1.pid', '0-2.pid'],
    );
    assert.match(stderr, /attempt 3 of 3/);
  });

  it('SIGKILLs a worker that ignores SIGTERM after the grace period', async () => {
    const pids = tempDir();
    const started = Date.now();
    const { result } = await run(
      config({ numProcesses: 2 }, [
        'exit=0:1',
        'sleep=100',
        'others-sleep=60000',
        'ignore-term',
        `pids=${pids}`,
        'wait-pids=2',
      ]),
    );
    assert.equal(result.last.rootCause?.rank, 0);
    const other = result.last.exits.find((e) => e.rank === 1)!;
    assert.equal(other.signal, 'SIGKILL');
    assert.equal(other.stoppedByLauncher, true);
    assert.ok(Date.now() - started < 10_000);
  });

  it('writes per-rank logs under --log_dir and keeps them off the console unless --tee', async () => {
    const dir = tempDir();
    const quiet = await run(config({ numProcesses: 2, logDir: dir }, ['say=logged']));
    assert.equal(quiet.result.exitCode, 0);
    assert.equal(
      readFileSync(join(dir, 'attempt_0', 'rank_1', 'stdout.log'), 'utf8'),
      'logged line1\nlogged line2\n',
    );
    assert.equal(
      readFileSync(join(dir, 'attempt_0', 'rank_0', 'stderr.log'), 'utf8'),
      'err logged\n',
    );
    assert.equal(quiet.stdout, '');
    const teed = await run(config({ numProcesses: 1, logDir: tempDir(), tee: '1' }, ['say=both']));
    assert.match(teed.stdout, /^both line1$/m, 'a single worker is not prefixed');
    assert.doesNotMatch(teed.stderr, /err both/);
  });

  it('refuses a main_process_port in use before starting any worker, naming the port', async () => {
    const server: Server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const pids = tempDir();
    try {
      await assert.rejects(
        run(config({ numProcesses: 2, mainProcessPort: port }, [`pids=${pids}`])),
        new RegExp(`main_process_port ${port} is already in use on 127\\.0\\.0\\.1`),
      );
      assert.deepEqual(readdirSync(pids), []);
    } finally {
      server.close();
    }
  });

  it('requires NER_RUN_TOKEN with several machines', async () => {
    const cfg = config(
      { numProcesses: 2, numMachines: 2, mainProcessIp: '127.0.0.1', mainProcessPort: 29999 },
      [],
    );
    await assert.rejects(run(cfg), /set NER_RUN_TOKEN to the same secret/);
  });
});
