import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  envForRank,
  fromEnv,
  isLaunchedWorker,
  toEnv,
  type WorkerGroupSpec,
} from '../src/worker-env.js';

const spec: WorkerGroupSpec = {
  numProcesses: 4,
  numMachines: 2,
  machineRank: 1,
  mainProcessIp: '10.0.0.1',
  mainProcessPort: 29500,
  localAddr: '10.0.0.2',
  mixedPrecision: 'bf16',
  backend: 'tensorflow',
  useCpu: false,
  gpuIds: [2, 0],
  restartCount: 1,
  runToken: 'secret',
  rdzvTimeoutS: 60,
  collectiveTimeoutS: 0.5,
};

describe('envForRank', () => {
  it('gives global rank machine_rank x per-machine + local rank, and the rest of the contract', () => {
    const env = envForRank(spec, 1);
    assert.deepEqual(toEnv(env), {
      RANK: '3',
      LOCAL_RANK: '1',
      WORLD_SIZE: '4',
      LOCAL_WORLD_SIZE: '2',
      GROUP_RANK: '1',
      MASTER_ADDR: '10.0.0.1',
      MASTER_PORT: '29500',
      NER_LOCAL_ADDR: '10.0.0.2',
      NER_MIXED_PRECISION: 'bf16',
      NER_BACKEND: 'tensorflow',
      NER_RESTART_COUNT: '1',
      NER_RUN_TOKEN: 'secret',
      NER_RDZV_TIMEOUT: '60',
      NER_COLLECTIVE_TIMEOUT: '0.5',
      CUDA_VISIBLE_DEVICES: '0',
      OMP_NUM_THREADS: '1',
    });
  });

  it('is pure: the same spec and rank give equal results and the spec is not touched', () => {
    const before = structuredClone(spec);
    assert.deepEqual(envForRank(spec, 0), envForRank(spec, 0));
    assert.deepEqual(spec, before);
  });

  it('gives worker i the GPU gpu_ids[i]', () => {
    assert.equal(envForRank(spec, 0).cudaVisibleDevices, '2');
    assert.equal(envForRank(spec, 1).cudaVisibleDevices, '0');
  });

  it('refuses fewer GPU ids than workers on the machine', () => {
    assert.throws(
      () => envForRank({ ...spec, gpuIds: [3] }, 0),
      /gpu_ids lists 1 GPU\(s\) \(3\), fewer than the 2 worker/,
    );
  });

  it('hides every GPU with use_cpu and leaves CUDA_VISIBLE_DEVICES alone without gpu ids', () => {
    assert.equal(envForRank({ ...spec, useCpu: true }, 0).cudaVisibleDevices, '');
    const { gpuIds: _unused, ...noIds } = spec;
    assert.equal(envForRank(noIds, 0).cudaVisibleDevices, undefined);
    assert.equal('CUDA_VISIBLE_DEVICES' in toEnv(envForRank(noIds, 0)), false);
  });

  it('sets OMP_NUM_THREADS=1 only when several workers share the machine', () => {
    const single = { ...spec, numProcesses: 2, numMachines: 2, gpuIds: [0] };
    assert.equal(envForRank(single, 0).ompNumThreads, undefined);
    assert.equal(envForRank(spec, 0).ompNumThreads, 1);
  });

  it('refuses a local rank outside the machine and num_processes not divisible by num_machines', () => {
    assert.throws(() => envForRank(spec, 2), /local rank 2 is outside 0\.\.1/);
    assert.throws(() => envForRank({ ...spec, numProcesses: 3 }, 0), /multiple of num_machines/);
  });
});

describe('fromEnv', () => {
  it('reads back exactly what toEnv wrote', () => {
    for (const localRank of [0, 1]) {
      const env = envForRank(spec, localRank);
      assert.deepEqual(fromEnv(toEnv(env)), env);
    }
  });

  it('treats a process without RANK and WORLD_SIZE as a standalone single worker', () => {
    const env = fromEnv({ NER_BACKEND: 'cpu' });
    assert.equal(env.rank, 0);
    assert.equal(env.worldSize, 1);
    assert.equal(env.backend, 'cpu');
    assert.equal(isLaunchedWorker({}), false);
    assert.equal(isLaunchedWorker(toEnv(envForRank(spec, 0))), true);
  });

  it('names the variable when one is missing or malformed', () => {
    assert.throws(() => fromEnv({ RANK: '0' }), /WORLD_SIZE is not set/);
    assert.throws(() => fromEnv({ RANK: 'x', WORLD_SIZE: '2' }), /RANK='x' is not an integer/);
    assert.throws(
      () => fromEnv({ RANK: '2', WORLD_SIZE: '2' }),
      /RANK=2 is not below WORLD_SIZE=2/,
    );
    assert.throws(
      () => fromEnv({ RANK: '0', WORLD_SIZE: '2', NER_MIXED_PRECISION: 'fp8' }),
      /NER_MIXED_PRECISION='fp8'/,
    );
    assert.throws(
      () => fromEnv({ RANK: '0', WORLD_SIZE: '2', NER_COLLECTIVE_TIMEOUT: '-1' }),
      /NER_COLLECTIVE_TIMEOUT='-1' is not a positive number of seconds/,
    );
  });
});
