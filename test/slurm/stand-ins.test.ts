// The SLURM batch scripts' arithmetic and wiring, with stand-ins for scontrol, srun and node
// (test/slurm/ runs them under a real SLURM): processes = nodes x GPUs per node (or CPUs per
// task), one launcher per node with machine_rank from SLURM_NODEID, the main node's NodeAddr,
// a port below the ephemeral range, srun given --export=ALL and --cpus-per-task, and a one-line
// reason for each refusal.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { REPO_ROOT } from '../support/python.js';

function stub(dir: string, name: string, body: string): void {
  const path = join(dir, name);
  writeFileSync(path, `#!/bin/bash\n${body}\n`);
  chmodSync(path, 0o755);
}

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
  /** One entry per launcher started: its argv after the ner-launch binary. */
  launchers: string[][];
  /** srun's own options. */
  srunOptions: string;
}

/** Runs `script` as sbatch would, on `nodes` stand-in nodes whose NodeAddr is `addr`. */
function runScript(
  script: string,
  env: Record<string, string>,
  args: string[] = ['--epochs', '2'],
  addr = '10.1.2.3',
): Run {
  const bin = mkdtempSync(join(tmpdir(), 'ner-sbatch-stub-'));
  const log = join(bin, 'launches.txt');
  const nodes = Number(env.SLURM_NNODES);
  const names = Array.from({ length: nodes }, (_, i) => `gpu-${i}`);
  stub(
    bin,
    'scontrol',
    [
      `if [ "$1 $2" = "show hostnames" ]; then printf '%s\\n' ${names.join(' ')}; exit 0; fi`,
      `if [ "$1 $2 $3" = "show node gpu-0" ]; then echo "   NodeAddr=${addr} NodeHostName=gpu-0 Port=0"; exit 0; fi`,
      'exit 1',
    ].join('\n'),
  );
  stub(
    bin,
    'getent',
    'if [ "$2" = main.example ]; then echo "10.9.9.9   STREAM main.example"; exit 0; fi; exit 2',
  );
  // srun: record its own options, then run the command once per node as SLURM would.
  stub(
    bin,
    'srun',
    [
      'opts=""',
      'while [[ "$1" == --* ]]; do opts="$opts $1"; shift; done',
      `echo "$opts" > ${join(bin, 'srun-options.txt')}`,
      `for ((n = 0; n < ${nodes}; n++)); do SLURM_NODEID=$n CUDA_VISIBLE_DEVICES=0,1,2,3 "$@" || exit; done`,
    ].join('\n'),
  );
  // "node": the step's exec target; records the launcher's arguments (after the bin path).
  stub(bin, 'node', `shift; printf '%s\\x1f' "$NER_RUN_TOKEN" "$@" >> ${log}; echo >> ${log}`);
  const result = spawnSync('bash', [join(REPO_ROOT, script), ...args], {
    encoding: 'utf8',
    env: {
      PATH: `${bin}:/usr/bin:/bin`,
      SLURM_JOB_ID: '4242',
      SLURM_SUBMIT_DIR: REPO_ROOT,
      SLURM_JOB_NODELIST: `gpu-[0-${nodes - 1}]`,
      ...env,
    },
  });
  const launchers = existsSync(log)
    ? readFileSync(log, 'utf8')
        .trim()
        .split('\n')
        .map((l) => l.split('\x1f').slice(0, -1))
    : [];
  const srunOptions = existsSync(join(bin, 'srun-options.txt'))
    ? readFileSync(join(bin, 'srun-options.txt'), 'utf8').trim()
    : '';
  rmSync(bin, { recursive: true, force: true });
  return {
    status: result.status,
    stdout: result.stdout,
    stderr: result.stderr,
    launchers,
    srunOptions,
  };
}

/** The value after `flag` in a launcher's argv. */
function flag(argv: string[], name: string): string | undefined {
  const i = argv.indexOf(name);
  return i < 0 ? undefined : argv[i + 1];
}

describe('configs/slurm-gpu.sbatch', () => {
  it('starts one launcher per node, processes = nodes x GPUs per node, the NodeAddr of the first node as main address', () => {
    const run = runScript('configs/slurm-gpu.sbatch', {
      SLURM_NNODES: '2',
      SLURM_GPUS_PER_NODE: 'a100:4',
      SLURM_CPUS_PER_TASK: '16',
    });
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.launchers.length, 2);
    const tokens = new Set(run.launchers.map((argv) => argv[0]));
    assert.equal(tokens.size, 1, 'one run token for the whole job');
    assert.match([...tokens][0], /^[0-9a-f]{32}$/);
    run.launchers.forEach((withToken, node) => {
      const argv = withToken.slice(1);
      assert.equal(flag(argv, '--machine_rank'), String(node));
      assert.equal(flag(argv, '--gpu_ids'), '0,1,2,3');
      assert.ok(argv.includes('--multi_gpu'));
      assert.equal(flag(argv, '--num_machines'), '2');
      assert.equal(flag(argv, '--num_processes'), '8');
      assert.equal(flag(argv, '--main_process_ip'), '10.1.2.3');
      assert.equal(flag(argv, '--log_dir'), 'runs/slurm/4242/logs');
      const port = Number(flag(argv, '--main_process_port'));
      assert.equal(port, 20000 + (4242 % 10000));
      assert.ok(port < 32768, 'below the ephemeral port range');
      assert.deepEqual(argv.slice(argv.indexOf('train')), ['train', '--epochs', '2']);
    });
    assert.match(run.srunOptions, /--export=ALL/);
    assert.match(run.srunOptions, /--kill-on-bad-exit=1/);
    assert.match(run.srunOptions, /--cpus-per-task=16/);
    assert.match(run.srunOptions, /--ntasks=2 --ntasks-per-node=1/);
  });

  it('counts 3 nodes x 2 GPUs as 6 processes', () => {
    const run = runScript('configs/slurm-gpu.sbatch', {
      SLURM_NNODES: '3',
      SLURM_GPUS_PER_NODE: '2',
    });
    assert.equal(run.status, 0, run.stderr);
    assert.deepEqual(
      run.launchers.map((a) => flag(a, '--num_processes')),
      ['6', '6', '6'],
    );
  });

  it('refuses an allocation without GPUs in one line', () => {
    const run = runScript('configs/slurm-gpu.sbatch', { SLURM_NNODES: '2' });
    assert.equal(run.status, 1);
    assert.equal(run.launchers.length, 0);
    assert.match(
      run.stderr,
      /^ner-launch slurm job: no GPUs per node in this allocation .*--gpus-per-node=N.*\n$/,
    );
  });

  it("refuses a main node that resolves to Debian's 127.0.1.1, in one line", () => {
    const run = runScript(
      'configs/slurm-gpu.sbatch',
      { SLURM_NNODES: '2', SLURM_GPUS_PER_NODE: '1' },
      [],
      'main.example',
    );
    assert.equal(run.status, 0, run.stderr);
    assert.equal(flag(run.launchers[0], '--main_process_ip'), '10.9.9.9');
    const own = runScript(
      'configs/slurm-gpu.sbatch',
      { SLURM_NNODES: '2', SLURM_GPUS_PER_NODE: '1' },
      [],
      '127.0.1.1',
    );
    assert.equal(own.status, 1);
    assert.match(own.stderr, /^ner-launch slurm job: .*127\.0\.1\.1.*NodeAddr=.*\n$/);
  });

  it('names the main node whose NodeAddr does not resolve, in one line', () => {
    const run = runScript(
      'configs/slurm-gpu.sbatch',
      { SLURM_NNODES: '2', SLURM_GPUS_PER_NODE: '1' },
      [],
      'nowhere.invalid',
    );
    assert.equal(run.status, 1);
    assert.equal(run.launchers.length, 0);
    assert.match(
      run.stderr,
      /^ner-launch slurm job: the main node gpu-0 \(NodeAddr nowhere\.invalid\) does not resolve [^\n]*\n$/,
    );
  });
});

describe('configs/slurm-cpu.sbatch', () => {
  it('runs one worker per CPU of the task on each node, with --cpu', () => {
    const run = runScript('configs/slurm-cpu.sbatch', {
      SLURM_NNODES: '2',
      SLURM_CPUS_PER_TASK: '8',
    });
    assert.equal(run.status, 0, run.stderr);
    for (const argv of run.launchers) {
      assert.ok(argv.includes('--cpu'));
      assert.equal(flag(argv, '--gpu_ids'), undefined);
      assert.equal(flag(argv, '--num_processes'), '16');
    }
  });

  it('uses 127.0.0.1 on a single node without asking scontrol for addresses', () => {
    const run = runScript(
      'configs/slurm-cpu.sbatch',
      { SLURM_NNODES: '1', SLURM_CPUS_PER_TASK: '4' },
      [],
      'nowhere.invalid',
    );
    assert.equal(run.status, 0, run.stderr);
    assert.equal(flag(run.launchers[0], '--main_process_ip'), '127.0.0.1');
    assert.equal(flag(run.launchers[0], '--num_processes'), '4');
    assert.equal(flag(run.launchers[0], '--main_process_port'), '0', 'any free port');
  });
});
