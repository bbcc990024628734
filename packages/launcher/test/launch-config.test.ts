import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfigText } from '../src/config-file.js';
import { defaultsWarning, resolveLaunchConfig, type MachineFacts } from '../src/launch-config.js';

const train = { kind: 'train' as const, args: [] };
const noGpus: MachineFacts = { detectGpuIds: () => [], tensorflowInstalled: () => false };
const fourGpus: MachineFacts = {
  detectGpuIds: () => [0, 1, 2, 3],
  tensorflowInstalled: () => false,
};
const file = (text: string) => parseConfigText(text, 'cfg.yaml');

describe('resolveLaunchConfig precedence', () => {
  it('takes a flag over the config file over the default', () => {
    const cfg = file(
      'num_processes: 3\nmixed_precision: fp16\nmax_restarts: 2\nuse_cpu: true\ndistributed_type: MULTI_CPU\n',
    );
    const { config } = resolveLaunchConfig({ numProcesses: 2 }, cfg, train, noGpus);
    assert.equal(config.numProcesses, 2, 'flag wins');
    assert.equal(config.mixedPrecision, 'fp16', 'config file wins over default');
    assert.equal(config.maxRestarts, 2);
    assert.equal(config.mainProcessPort, 29500, 'default');
    assert.equal(config.configFile, 'cfg.yaml');
  });

  it('lists the defaults used in a warning, and none that were given', () => {
    const { defaultsUsed } = resolveLaunchConfig(
      { mixedPrecision: 'no' },
      file('backend: wasm\n'),
      train,
      noGpus,
    );
    assert.deepEqual(defaultsUsed, ['--num_machines=1', '--num_processes=1']);
    assert.match(defaultsWarning(defaultsUsed)!, /--num_machines=1 --num_processes=1/);
    assert.equal(defaultsWarning([]), undefined);
  });

  it('lets --cpu on the command line override a MULTI_GPU config file', () => {
    const { config } = resolveLaunchConfig(
      { cpu: true },
      file('distributed_type: MULTI_GPU\nnum_processes: 2\n'),
      train,
      fourGpus,
    );
    assert.equal(config.useCpu, true);
    assert.equal(config.multiGpu, false);
    assert.equal(config.gpuIds, undefined);
  });
});

describe('resolveLaunchConfig GPU mapping', () => {
  it('uses one worker per listed GPU with --multi_gpu, worker i on gpu_ids[i]', () => {
    const { config } = resolveLaunchConfig(
      { multiGpu: true, gpuIds: '2,0' },
      undefined,
      train,
      fourGpus,
    );
    assert.equal(config.numProcesses, 2);
    assert.deepEqual(config.gpuIds, [2, 0]);
  });

  it('takes every detected GPU for gpu_ids all', () => {
    const { config } = resolveLaunchConfig({ multiGpu: true }, undefined, train, fourGpus);
    assert.equal(config.numProcesses, 4);
    assert.deepEqual(config.gpuIds, [0, 1, 2, 3]);
  });

  it('refuses fewer GPU ids than processes per machine, naming the flag', () => {
    assert.throws(
      () =>
        resolveLaunchConfig(
          { multiGpu: true, gpuIds: '0,2', numProcesses: 3 },
          undefined,
          train,
          fourGpus,
        ),
      /--gpu_ids lists 2 GPU\(s\) \(0,2\), fewer than the 3 worker\(s\) per machine/,
    );
    assert.throws(
      () => resolveLaunchConfig({ numProcesses: 3 }, file('gpu_ids: 1\n'), train, fourGpus),
      /gpu_ids in cfg\.yaml lists 1 GPU/,
    );
  });

  it('refuses --multi_gpu without GPUs and malformed gpu ids', () => {
    assert.throws(
      () => resolveLaunchConfig({ multiGpu: true }, undefined, train, noGpus),
      /--multi_gpu needs GPUs/,
    );
    assert.throws(
      () => resolveLaunchConfig({ gpuIds: '0,x' }, undefined, train, fourGpus),
      /--gpu_ids: .*'x' is not a GPU id/,
    );
    assert.throws(
      () => resolveLaunchConfig({ gpuIds: '1,1' }, undefined, train, fourGpus),
      /GPU 1 is listed twice/,
    );
  });
});

describe('resolveLaunchConfig validation', () => {
  it('refuses --cpu with --multi_gpu, and the cuda engine with --cpu', () => {
    assert.throws(
      () => resolveLaunchConfig({ cpu: true, multiGpu: true }, undefined, train, fourGpus),
      /exclude each other/,
    );
    assert.throws(
      () => resolveLaunchConfig({ cpu: true, backend: 'cuda' }, undefined, train, noGpus),
      /--backend cuda runs on NVIDIA GPUs, but --cpu was asked for/,
    );
  });

  it('resolves backend auto on CPU to wasm, or tensorflow when tfjs-node is installed', () => {
    assert.equal(
      resolveLaunchConfig({ cpu: true }, undefined, train, noGpus).config.backend,
      'wasm',
    );
    assert.equal(
      resolveLaunchConfig({ cpu: true }, undefined, train, {
        ...noGpus,
        tensorflowInstalled: () => true,
      }).config.backend,
      'tensorflow',
    );
  });

  it('checks the multi-machine settings', () => {
    assert.throws(
      () => resolveLaunchConfig({ numMachines: 2, numProcesses: 2 }, undefined, train, noGpus),
      /--main_process_ip is required with --num_machines 2/,
    );
    assert.throws(
      () =>
        resolveLaunchConfig(
          { numMachines: 2, machineRank: 2, mainProcessIp: 'h', numProcesses: 2 },
          undefined,
          train,
          noGpus,
        ),
      /machine ranks run 0\.\.1/,
    );
    assert.throws(
      () =>
        resolveLaunchConfig(
          { numMachines: 2, mainProcessIp: 'h', numProcesses: 3 },
          undefined,
          train,
          noGpus,
        ),
      /not a multiple of num_machines 2/,
    );
    assert.throws(
      () =>
        resolveLaunchConfig(
          { numMachines: 2, mainProcessIp: 'h', numProcesses: 2, mainProcessPort: 0 },
          undefined,
          train,
          noGpus,
        ),
      /single machine only/,
    );
  });

  it('defaults main_process_ip to 127.0.0.1 on a single machine', () => {
    assert.equal(
      resolveLaunchConfig({}, undefined, train, noGpus).config.mainProcessIp,
      '127.0.0.1',
    );
  });
});
