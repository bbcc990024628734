// The shipped SLURM batch scripts under a real SLURM (test/slurm/cluster.ts: slurmctld and
// two slurmd on 127.0.0.1 / 127.0.0.2 of this machine): the CPU script trains the quickstart
// across two nodes, survives a SIGKILLed worker on node 2, is cancelled cleanly, fails with
// one line when the main node's name does not resolve, and runs under --export=NONE; the GPU
// script runs with SLURM's GPU allocation on stand-in GPUs and trains on CPU.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SlurmCluster, skipWithoutSlurm } from './cluster.js';

const CPU_SCRIPT = 'configs/slurm-cpu.sbatch';
const GPU_SCRIPT = 'configs/slurm-gpu.sbatch';
const JOB_TIMEOUT_MS = 240_000;

/** `[[name=value]]` pairs of a process's environment, or undefined once it is gone. */
function environ(pid: number): Map<string, string> | undefined {
  try {
    const vars = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
    return new Map(vars.map((v) => [v.slice(0, v.indexOf('=')), v.slice(v.indexOf('=') + 1)]));
  } catch {
    return undefined;
  }
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return '';
  }
}

describe('SLURM batch scripts under a real SLURM', { skip: skipWithoutSlurm() }, () => {
  let cluster: SlurmCluster;
  const timings: Record<string, number> = {};

  before(async () => {
    cluster = await SlurmCluster.start();
  });
  after(async () => {
    if (Object.keys(timings).length > 0)
      process.stderr.write(`SLURM test timings (s): ${JSON.stringify(timings)}\n`);
    await cluster?.stop();
  });

  /** Every process of the job on any node (the job id is in the environment of each). */
  const jobProcesses = (jobId: string): number[] =>
    cluster.processes().filter((pid) => environ(pid)?.get('SLURM_JOB_ID') === jobId);

  /** Submits the quickstart with `script`, one CPU per task, the model going to out/NAME. */
  function submitQuickstart(
    script: string,
    name: string,
    extra: { sbatchArgs?: string[]; trainArgs?: string[]; env?: NodeJS.ProcessEnv } = {},
  ): { jobId: string; model: string } {
    const model = join(cluster.outDir, name);
    const jobId = cluster.submit(script, {
      sbatchArgs: ['--cpus-per-task=1', ...(extra.sbatchArgs ?? [])],
      scriptArgs: [
        '--config',
        'configs/quickstart.yaml',
        '--save_model_path',
        model,
        ...(extra.trainArgs ?? []),
      ],
      env: { NER_LAUNCH_ARGS: '--backend wasm --mixed_precision no', ...extra.env },
    });
    return { jobId, model };
  }

  function assertCompleted(jobId: string, info: { state: string; exitCode: string }): void {
    assert.equal(
      `${info.state} ${info.exitCode}`,
      'COMPLETED 0:0',
      `job ${jobId}:\n${cluster.output(jobId).slice(-4000)}`,
    );
  }

  function assertNodesIdle(): Promise<void> {
    return cluster.wait('both nodes idle again', 30_000, () => {
      const states = cluster.nodeStates();
      assert.ok(
        !/drain|down|fail/.test(`${states.ner1} ${states.ner2}`),
        `a node went bad: ${JSON.stringify(states)}`,
      );
      return states.ner1 === 'idle' && states.ner2 === 'idle';
    });
  }

  it('trains the quickstart across two nodes with the CPU script', async () => {
    const started = Date.now();
    const { jobId, model } = submitQuickstart(CPU_SCRIPT, 'two-nodes', {
      trainArgs: ['--epochs', '2'],
    });
    const info = await cluster.waitJob(jobId, JOB_TIMEOUT_MS);
    timings.cpuJobWall = (Date.now() - started) / 1000;
    assertCompleted(jobId, info);
    assert.equal(info.nodeList, 'ner[1-2]');
    const out = cluster.output(jobId);
    assert.match(out, /2 node\(s\) x 1 process\(es\), rendezvous at ner1 127\.0\.0\.1:2\d{4}/);
    assert.match(out, /starting 1 worker\(s\) \(ranks 0\.\.0 of 2\)/);
    assert.match(out, /starting 1 worker\(s\) \(ranks 1\.\.1 of 2\)/);
    const metrics = JSON.parse(readFileSync(join(model, 'metrics.json'), 'utf8')) as {
      history: unknown[];
      test: unknown;
    };
    assert.equal(metrics.history.length, 2);
    assert.ok(metrics.test);
    // Worker logs go under runs/slurm/<job id>/ of the submit folder (git-ignored /runs/).
    for (const rank of [0, 1])
      assert.ok(
        existsSync(
          join(cluster.submitDir, 'runs', 'slurm', jobId, 'logs', 'attempt_0', `rank_${rank}`),
        ),
        `logs of rank ${rank}`,
      );
    await assertNodesIdle();
  });

  it('runs the CPU script on a single node, one worker per CPU of the task', async () => {
    const { jobId, model } = submitQuickstart(CPU_SCRIPT, 'one-node', {
      sbatchArgs: ['--nodes=1', '--cpus-per-task=2'],
      trainArgs: ['--epochs', '1'],
    });
    const info = await cluster.waitJob(jobId, JOB_TIMEOUT_MS);
    assertCompleted(jobId, info);
    assert.match(
      cluster.output(jobId),
      /1 node\(s\) x 2 process\(es\), rendezvous at ner\d 127\.0\.0\.1:\(a free port\)/,
    );
    assert.match(cluster.output(jobId), /starting 2 worker\(s\) \(ranks 0\.\.1 of 2\)/);
    assert.ok(existsSync(join(model, 'metrics.json')));
    await assertNodesIdle();
  });

  it('scancel mid-training ends every process of the job on both nodes and leaves them idle', async () => {
    const { jobId, model } = submitQuickstart(CPU_SCRIPT, 'cancelled', {
      trainArgs: ['--epochs', '100'],
    });
    await cluster.wait('training under way', JOB_TIMEOUT_MS, () => {
      const steps = join(model, 'steps.jsonl');
      return existsSync(steps) && readFileSync(steps, 'utf8').split('\n').length > 3;
    });
    const before = jobProcesses(jobId);
    const workers = before.filter((pid) => environ(pid)?.has('RANK'));
    assert.equal(workers.length, 2, `two workers: ${before.map(cmdline).join('\n')}`);
    const cancelledAt = Date.now();
    assert.ok(cluster.slurm('scancel', [jobId]).ok);
    await cluster.wait(
      'every process of the job gone',
      30_000,
      () => jobProcesses(jobId).length === 0,
    );
    timings.scancelToAllGone = (Date.now() - cancelledAt) / 1000;
    for (const pid of before) assert.equal(environ(pid), undefined, `pid ${pid} survived`);
    const info = await cluster.waitJob(jobId, 30_000);
    assert.equal(info.state, 'CANCELLED');
    assert.match(cluster.output(jobId), /received SIGTERM: stopping every worker/);
    await assertNodesIdle();
  });

  it('restarts a SIGKILLed worker on node 2 and completes', async () => {
    const { jobId, model } = submitQuickstart(CPU_SCRIPT, 'restarted', {
      trainArgs: ['--epochs', '3', '--save_steps', '5'],
    });
    let victim: number | undefined;
    // The first mid-epoch checkpoint marks training under way, with most of the run still ahead
    // (steps.jsonl appears only at an epoch's end, too close to the end of a short run).
    await cluster.wait('the worker of node 2 mid-training', JOB_TIMEOUT_MS, () => {
      if (!existsSync(join(model, 'checkpoints', 'step-5', 'manifest.json'))) return false;
      victim = jobProcesses(jobId).find((pid) => {
        const env = environ(pid);
        return env?.get('SLURM_NODEID') === '1' && env.get('RANK') === '1';
      });
      return victim !== undefined;
    });
    process.kill(victim!, 'SIGKILL');
    const info = await cluster.waitJob(jobId, JOB_TIMEOUT_MS);
    assertCompleted(jobId, info);
    const out = cluster.output(jobId);
    assert.match(out, /rank 1: signal SIGKILL \(9\)\); restarting it \(restart 1 of 1\)/);
    assert.match(out, /restart 1 of 1 \(every machine's workers must rejoin within/);
    assert.ok(existsSync(join(model, 'metrics.json')));
    await assertNodesIdle();
  });

  it('fails with one line when the main node name does not resolve', async () => {
    const { jobId } = submitQuickstart(CPU_SCRIPT, 'unresolved', {
      sbatchArgs: ['--partition=badmain'],
    });
    const info = await cluster.waitJob(jobId, 60_000);
    assert.equal(info.state, 'FAILED');
    assert.equal(info.exitCode, '1:0');
    const lines = cluster.output(jobId).trim().split('\n');
    assert.equal(lines.length, 1, lines.join('\n'));
    assert.match(
      lines[0],
      /^ner-launch slurm job: the main node ner0 \(NodeAddr ner0-main\.invalid\) does not resolve/,
    );
  });

  it('runs under sbatch --export=NONE', async () => {
    // Under --export=NONE nothing of sbatch's environment reaches the job: were NER_LAUNCH_ARGS
    // to arrive, the launcher would refuse the unknown flag and the job would fail.
    const { jobId, model } = submitQuickstart(CPU_SCRIPT, 'export-none', {
      sbatchArgs: ['--export=NONE'],
      trainArgs: ['--epochs', '1'],
      env: { NER_LAUNCH_ARGS: '--no_such_launch_flag' },
    });
    const info = await cluster.waitJob(jobId, JOB_TIMEOUT_MS);
    assertCompleted(jobId, info);
    assert.ok(existsSync(join(model, 'metrics.json')));
  });

  it('runs the GPU script with nodes x GPUs per node workers, --gpu_ids from SLURM', async () => {
    const { jobId, model } = submitQuickstart(GPU_SCRIPT, 'gpu', {
      sbatchArgs: ['--gpus-per-node=2'],
      trainArgs: ['--epochs', '1'],
    });
    // Each worker's CUDA_VISIBLE_DEVICES, by rank, sampled while the job runs.
    const gpuOfRank = new Map<string, string>();
    await cluster.wait(`the end of job ${jobId}`, JOB_TIMEOUT_MS, () => {
      for (const pid of jobProcesses(jobId)) {
        const env = environ(pid);
        const rank = env?.get('RANK');
        if (rank !== undefined) gpuOfRank.set(rank, env?.get('CUDA_VISIBLE_DEVICES') ?? '');
      }
      return !['', 'PENDING', 'RUNNING', 'COMPLETING', 'CONFIGURING'].includes(
        cluster.job(jobId).state,
      );
    });
    assertCompleted(jobId, cluster.job(jobId));
    const out = cluster.output(jobId);
    assert.match(out, /2 node\(s\) x 2 process\(es\)/);
    assert.match(out, /starting 2 worker\(s\) \(ranks 0\.\.1 of 4\)/);
    assert.match(out, /starting 2 worker\(s\) \(ranks 2\.\.3 of 4\)/);
    // SLURM gave each node GPUs 0,1; the script passed them on as --gpu_ids, one per worker.
    assert.deepEqual(Object.fromEntries([...gpuOfRank].sort()), {
      '0': '0',
      '1': '1',
      '2': '0',
      '3': '1',
    });
    assert.ok(existsSync(join(model, 'metrics.json')));
  });

  it('ends with both nodes idle and nothing of the jobs left running', async () => {
    const left = cluster
      .processes()
      .filter((pid) => environ(pid)?.has('SLURM_JOB_ID'))
      .map(cmdline);
    assert.deepEqual(left, []);
    await assertNodesIdle();
  });
});
