import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  defaultConfigPath,
  loadLaunchConfigFile,
  parseConfigText,
  readConfigFile,
  renderConfigFile,
  writeConfigFile,
} from '../src/config-file.js';
import { defaultConfigSettings } from '../src/config-questionnaire.js';
import { resolveLaunchConfig } from '../src/launch-config.js';

const CONFIGS = fileURLToPath(new URL('../../../configs/', import.meta.url));

describe('parseConfigText', () => {
  it('maps accelerate keys onto launch flags', () => {
    const { flags } = parseConfigText(
      'compute_environment: LOCAL_MACHINE\ndistributed_type: MULTI_GPU\nnum_processes: 2\ngpu_ids: 0,2\nmain_process_port: 1234\nsame_network: true\n',
      'c.yaml',
    );
    assert.deepEqual(flags, {
      multiGpu: true,
      numProcesses: 2,
      gpuIds: '0,2',
      mainProcessPort: 1234,
      sameNetwork: true,
    });
  });

  it('rejects an unknown key naming the file, line and key', () => {
    assert.throws(() => parseConfigText('num_processes: 2\nnum_procs: 3\n', 'my.yaml'), {
      message:
        'my.yaml:2: num_procs: unknown key: neither accelerate nor ner-launch has it; fix or remove it (keys that take effect: compute_environment, distributed_type, use_cpu, mixed_precision, backend, num_processes, gpu_ids, num_machines, machine_rank, main_process_ip, main_process_port, local_addr, same_network, rdzv_timeout, restart_rdzv_timeout, collective_timeout, max_restarts, monitor_interval, tee, log_dir, quiet, debug)',
    });
  });

  it('rejects a wrong type naming the file, key and expected type', () => {
    assert.throws(
      () => parseConfigText('num_processes: two\n', 'my.yaml'),
      /my\.yaml:1: num_processes: expected an integer >= 1, got 'two'/,
    );
    assert.throws(
      () => parseConfigText('use_cpu: maybe\n', 'my.yaml'),
      /my\.yaml:1: use_cpu: expected true or false/,
    );
    assert.throws(
      () => parseConfigText('mixed_precision: fp32\n', 'my.yaml'),
      /my\.yaml:1: mixed_precision: expected one of no, fp16, bf16, got 'fp32'/,
    );
    assert.throws(
      () => parseConfigText('distributed_type: MULTI_TPU\n', 'my.yaml'),
      /my\.yaml:1: distributed_type: expected one of NO, MULTI_GPU, MULTI_CPU, got 'MULTI_TPU'/,
    );
  });

  it('rejects malformed YAML and a non-mapping, naming the file', () => {
    assert.throws(() => parseConfigText('a: [1,\n', 'bad.yaml'), /bad\.yaml.*not valid YAML/);
    assert.throws(() => parseConfigText('- 1\n', 'list.yaml'), /list\.yaml: expected a mapping/);
    assert.throws(() => parseConfigText('num_processes: 1\nnum_processes: 2\n', 'dup.yaml'), {
      message: 'dup.yaml:2: not valid YAML: duplicate key "num_processes"',
    });
  });

  it('refuses tags, keys that are not names, and __proto__', () => {
    assert.throws(() => parseConfigText('num_processes: !!python/object:os.system 2\n', 't.yaml'), {
      message:
        't.yaml:1: YAML tag tag:yaml.org,2002:python/object:os.system is not accepted in a config file; write the plain value',
    });
    assert.throws(
      () => parseConfigText('use_cpu: !!bool "true"\n', 't.yaml'),
      /t\.yaml:1: YAML tag/,
    );
    assert.throws(() => parseConfigText('? [a]\n: 1\n', 'k.yaml'), {
      message: 'k.yaml:1: config keys must be plain names',
    });
    assert.throws(
      () => parseConfigText('num_processes: 2\n__proto__: {use_cpu: true}\n', 'p.yaml'),
      /^UsageError: p\.yaml:2: __proto__: unknown key/,
    );
  });

  it('accepts accelerate-only keys that mean nothing here without a word, so accelerate configs can be reused', () => {
    const { flags, warnings } = parseConfigText(
      "main_training_function: main\ndowncast_bf16: 'no'\nuse_cpu: true\n",
      'acc.yaml',
    );
    assert.deepEqual(flags, { cpu: true });
    assert.deepEqual(warnings, []);
  });

  it('refuses distributed_type NO with several processes', () => {
    assert.throws(
      () => parseConfigText("distributed_type: 'NO'\nnum_processes: 2\n", 'n.yaml'),
      /distributed_type NO runs one process/,
    );
  });
});

describe('the example configs in configs/', () => {
  const files = readdirSync(CONFIGS).filter(
    (f) =>
      f.endsWith('.yaml') &&
      ['cpu', 'single-gpu', 'multi-gpu', 'multi-node'].some((n) => f === `${n}.yaml`),
  );
  it('include cpu, single-gpu, multi-gpu and multi-node', () => {
    assert.deepEqual(files.sort(), [
      'cpu.yaml',
      'multi-gpu.yaml',
      'multi-node.yaml',
      'single-gpu.yaml',
    ]);
  });
  for (const file of ['cpu.yaml', 'single-gpu.yaml', 'multi-gpu.yaml', 'multi-node.yaml']) {
    it(`parses and resolves ${file}`, () => {
      const values = readConfigFile(join(CONFIGS, file));
      assert.deepEqual(values.warnings, []);
      const fakeGpus = { detectGpuIds: () => [0, 1, 2, 3], tensorflowInstalled: () => false };
      const { config } = resolveLaunchConfig({}, values, { kind: 'train', args: [] }, fakeGpus);
      assert.ok(config.numProcesses >= 1);
      assert.ok(readFileSync(join(CONFIGS, file), 'utf8').startsWith('#'), 'commented');
    });
  }
  it('gives the expected layouts', () => {
    const fakeGpus = { detectGpuIds: () => [0, 1, 2, 3], tensorflowInstalled: () => false };
    const resolve = (f: string) =>
      resolveLaunchConfig(
        {},
        readConfigFile(join(CONFIGS, f)),
        { kind: 'train', args: [] },
        fakeGpus,
      ).config;
    assert.equal(resolve('cpu.yaml').useCpu, true);
    assert.equal(resolve('cpu.yaml').numProcesses, 2);
    assert.deepEqual(resolve('single-gpu.yaml').gpuIds, [0]);
    assert.deepEqual(resolve('multi-gpu.yaml').gpuIds, [0, 1, 2, 3]);
    const node = resolve('multi-node.yaml');
    assert.equal(node.numMachines, 2);
    assert.equal(node.numProcesses, 8);
    assert.equal(node.mainProcessIp, '10.0.0.1');
  });
});

describe('the default config file', () => {
  it('lives in $NER_LAUNCH_CONFIG_DIR, else ~/.cache/ner-launch', () => {
    assert.equal(defaultConfigPath({ NER_LAUNCH_CONFIG_DIR: '/x' }), '/x/default_config.yaml');
    assert.match(
      defaultConfigPath({ HOME: '/home/u' }),
      /\.cache\/ner-launch\/default_config\.yaml$/,
    );
  });

  it('is read when no --config_file is given, and a missing --config_file is an error naming it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ner-cfg-'));
    assert.equal(loadLaunchConfigFile(undefined, { NER_LAUNCH_CONFIG_DIR: dir }), undefined);
    writeFileSync(
      join(dir, 'default_config.yaml'),
      'num_processes: 3\nuse_cpu: true\ndistributed_type: MULTI_CPU\n',
    );
    assert.equal(
      loadLaunchConfigFile(undefined, { NER_LAUNCH_CONFIG_DIR: dir })?.flags.numProcesses,
      3,
    );
    assert.throws(
      () => loadLaunchConfigFile(join(dir, 'nope.yaml')),
      /config file .*nope\.yaml cannot be read/,
    );
  });

  it('is written as YAML the reader accepts, and never overwritten by the non-interactive writer', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ner-cfg-'));
    const path = join(dir, 'sub', 'default_config.yaml');
    assert.equal(await writeConfigFile(path, defaultConfigSettings(0), false), true);
    const first = readFileSync(path, 'utf8');
    assert.deepEqual(readConfigFile(path).flags.cpu, true);
    assert.equal(await writeConfigFile(path, defaultConfigSettings(4, 'bf16'), false), false);
    assert.equal(readFileSync(path, 'utf8'), first);
    const multi = parseConfigText(
      renderConfigFile(defaultConfigSettings(4, 'bf16')),
      'r.yaml',
    ).flags;
    assert.equal(multi.multiGpu, true);
    assert.equal(multi.numProcesses, 4);
  });
});
