// The SLURM batch script in configs/ runs with stand-ins for srun, scontrol, getent and npx:
// each "node" must start one launcher with its machine_rank from SLURM_NODEID and the main
// address of the allocation's first host.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('../configs/slurm-multi-node.sbatch', import.meta.url));

function stub(dir: string, name: string, body: string): void {
  const path = join(dir, name);
  writeFileSync(path, `#!/bin/bash\n${body}\n`);
  chmodSync(path, 0o755);
}

describe('configs/slurm-multi-node.sbatch', () => {
  it('starts one launcher per node with machine_rank from SLURM_NODEID and the first host as main address', () => {
    const bin = mkdtempSync(join(tmpdir(), 'ner-slurm-'));
    const log = join(bin, 'launches.txt');
    stub(bin, 'scontrol', 'printf "gpu-a\\ngpu-b\\n"');
    stub(bin, 'getent', '[ "$2" = gpu-a ] && echo "10.1.2.3   STREAM gpu-a"');
    // srun: drop its own options, then run the command once per node.
    stub(
      bin,
      'srun',
      'while [[ "$1" == --* ]]; do shift; done\nfor n in 0 1; do SLURM_NODEID=$n "$@"; done',
    );
    stub(bin, 'npx', `echo "$NER_RUN_TOKEN $*" >> ${log}`);
    const result = spawnSync('bash', [SCRIPT, '--data_path', '/data/x', '--epochs', '2'], {
      encoding: 'utf8',
      env: {
        PATH: `${bin}:${process.env.PATH}`,
        SLURM_NNODES: '2',
        SLURM_JOB_NODELIST: 'gpu-[a-b]',
        SLURM_JOB_ID: '4242',
      },
    });
    assert.equal(result.status, 0, result.stderr);
    const lines = readFileSync(log, 'utf8').trim().split('\n');
    assert.equal(lines.length, 2);
    const tokens = new Set(lines.map((l) => l.split(' ')[0]));
    assert.equal(tokens.size, 1, 'one run token for the whole job');
    assert.match([...tokens][0], /^[0-9a-f]{32}$/);
    lines.forEach((line, node) => {
      assert.match(line, new RegExp(`--machine_rank ${node} `));
      assert.match(line, /--num_machines 2 --num_processes 8 /);
      assert.match(line, /--main_process_ip 10\.1\.2\.3 --main_process_port 24242 /);
      assert.match(line, / train --data_path \/data\/x --epochs 2$/);
    });
  });
});
