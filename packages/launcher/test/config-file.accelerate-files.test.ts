import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import {
  accelerateConfigPath,
  defaultConfigPath,
  loadLaunchConfigFile,
  parseConfigText,
  readConfigFile,
  renderConfigFile,
  type ConfigFileSettings,
} from '../src/config-file.js';
import { defaultConfigSettings } from '../src/config-questionnaire.js';
import { launchConfigReport } from '../src/environment-report.js';
import { resolveLaunchConfig, type LaunchConfig, type MachineFacts } from '../src/launch-config.js';
import { referencePython } from '../../../test/support/python.js';

const FIXTURES = fileURLToPath(new URL('./fixtures/accelerate-configs/', import.meta.url));
const fixture = (name: string): string => join(FIXTURES, name);
const train = { kind: 'train' as const, args: [] };
const eightGpus: MachineFacts = {
  detectGpuIds: () => [0, 1, 2, 3, 4, 5, 6, 7],
  tensorflowInstalled: () => false,
};

/** The launch a fixture gives on a machine with eight GPUs, no flags given. */
function launchOf(name: string): LaunchConfig {
  return resolveLaunchConfig({}, readConfigFile(fixture(name)), train, eightGpus).config;
}

/** The settings a test compares: what decides the workers started. */
function layout(config: LaunchConfig) {
  return {
    useCpu: config.useCpu,
    multiGpu: config.multiGpu,
    mixedPrecision: config.mixedPrecision,
    numProcesses: config.numProcesses,
    numMachines: config.numMachines,
    machineRank: config.machineRank,
    mainProcessIp: config.mainProcessIp,
    mainProcessPort: config.mainProcessPort,
    gpuIds: config.gpuIds,
    debug: config.debug,
  };
}

const singleCpu = {
  useCpu: true,
  multiGpu: false,
  mixedPrecision: 'no',
  numProcesses: 1,
  numMachines: 1,
  machineRank: 0,
  mainProcessIp: '127.0.0.1',
  mainProcessPort: 29500,
  gpuIds: undefined,
  debug: false,
};
const singleGpu = { ...singleCpu, useCpu: false, gpuIds: [0] };

describe("accelerate's own test fixtures (tests/test_configs)", () => {
  for (const name of ['0_11_0.yaml', '0_12_0.yaml', 'latest.yaml', 'downcast.yaml']) {
    it(`loads ${name} as one process on the first GPU, without a warning`, () => {
      assert.deepEqual(readConfigFile(fixture(name)).warnings, []);
      assert.deepEqual(layout(launchOf(name)), singleGpu);
    });
  }

  for (const name of ['debug.yaml', 'one_proc.yaml']) {
    it(`loads ${name} with debug on`, () => {
      assert.deepEqual(layout(launchOf(name)), { ...singleGpu, debug: true });
    });
  }

  it('lists every unknown key of invalid_keys.yaml at once, with its line', () => {
    const path = fixture('invalid_keys.yaml');
    assert.throws(() => readConfigFile(path), {
      message:
        `${path}:15: unknown keys invalid_key (line 15), another_invalid_key (line 16): neither accelerate nor ner-launch has them; ` +
        'fix or remove them (keys that take effect: compute_environment, distributed_type, use_cpu, mixed_precision, backend, num_processes, gpu_ids, num_machines, machine_rank, main_process_ip, main_process_port, local_addr, same_network, rdzv_timeout, restart_rdzv_timeout, collective_timeout, max_restarts, monitor_interval, tee, log_dir, quiet, debug)',
    });
  });

  const refused: [string, string][] = [
    [
      'latest_fsdp.yaml',
      ":4: distributed_type: 'FSDP' asks for FSDP sharding, which ner-launch does not do; use MULTI_GPU or MULTI_CPU (data-parallel replicas)",
    ],
    [
      'megatron.yaml',
      ":3: distributed_type: 'MEGATRON_LM' asks for Megatron-LM parallelism, which ner-launch does not do; use MULTI_GPU or MULTI_CPU (data-parallel replicas)",
    ],
    [
      'validate_launch_cmd.yaml',
      ':6: fsdp_config: {"fsdp_sync_module_states":false} asks for FSDP sharding, which ner-launch does not do; remove it or leave it {}: ner-launch trains data-parallel replicas (distributed_type MULTI_GPU or MULTI_CPU)',
    ],
    [
      '0_34_0_fp8.yaml',
      ':7: fp8_config: {"amax_compute_algo":"max","amax_history_len":1024,"backend":"TE","fp8_format... asks for fp8 training, which ner-launch does not do; remove it and use mixed_precision bf16 or fp16',
    ],
    [
      '0_28_0_mpi.yaml',
      ':13: mpirun_config: {"mpirun_ccl":"1","mpirun_hostfile":"/home/user/hostfile"} asks for mpirun to start the workers of every machine, which ner-launch does not do; remove it and run ner-launch on each machine with its --machine_rank (see configs/slurm-multi-node.sbatch)',
    ],
    // accelerate's own fixture repeats `debug`; ner-launch refuses duplicate keys before anything else.
    ['0_30_0_sagemaker.yaml', ':6: not valid YAML: duplicate key "debug"'],
  ];
  for (const [name, message] of refused) {
    it(`refuses ${name} in one line naming the key, the value and what to use instead`, () => {
      assert.throws(() => readConfigFile(fixture(name)), { message: fixture(name) + message });
    });
  }
});

describe('typical `accelerate config` outputs', () => {
  it('NO on CPU (1.15, and `accelerate config default` JSON) runs one CPU worker', () => {
    assert.deepEqual(layout(launchOf('config_1_15_no_cpu.yaml')), singleCpu);
    assert.deepEqual(layout(launchOf('config_1_15_default_cpu.yaml')), singleCpu);
  });

  it('NO on GPU 0 with fp16 runs one worker on GPU 0', () => {
    assert.deepEqual(layout(launchOf('config_1_15_no_gpu_fp16.yaml')), {
      ...singleGpu,
      mixedPrecision: 'fp16',
    });
  });

  it('MULTI_CPU (1.15, and 0.2x with empty ipex/mpirun sections) runs N CPU workers', () => {
    assert.deepEqual(layout(launchOf('config_1_15_multi_cpu.yaml')), {
      ...singleCpu,
      numProcesses: 4,
    });
    assert.deepEqual(readConfigFile(fixture('config_0_2x_multi_cpu.yaml')).warnings, []);
    assert.deepEqual(layout(launchOf('config_0_2x_multi_cpu.yaml')), {
      ...singleCpu,
      numProcesses: 2,
    });
  });

  it('MULTI_GPU fp16 over all GPUs, and bf16 over listed GPUs, run one worker per GPU', () => {
    assert.deepEqual(layout(launchOf('config_1_15_multi_gpu_fp16.yaml')), {
      ...singleGpu,
      multiGpu: true,
      mixedPrecision: 'fp16',
      numProcesses: 2,
      gpuIds: [0, 1],
    });
    assert.deepEqual(layout(launchOf('config_1_15_multi_gpu_bf16.yaml')), {
      ...singleGpu,
      multiGpu: true,
      mixedPrecision: 'bf16',
      numProcesses: 4,
      gpuIds: [0, 1, 2, 3],
    });
  });

  it('multi-node MULTI_GPU runs this machine’s share at its rank, meeting at machine 0', () => {
    assert.deepEqual(layout(launchOf('config_1_15_multi_node.yaml')), {
      ...singleGpu,
      multiGpu: true,
      mixedPrecision: 'bf16',
      numProcesses: 16,
      numMachines: 2,
      machineRank: 1,
      mainProcessIp: '10.0.0.1',
      gpuIds: [0, 1, 2, 3, 4, 5, 6, 7],
    });
  });

  it('lets a flag win over an accelerate file, as accelerate launch does', () => {
    const { config } = resolveLaunchConfig(
      { numProcesses: 2, mixedPrecision: 'no' },
      readConfigFile(fixture('config_1_15_multi_gpu_bf16.yaml')),
      train,
      eightGpus,
    );
    assert.equal(config.numProcesses, 2);
    assert.deepEqual(config.gpuIds, [0, 1]);
    assert.equal(config.mixedPrecision, 'no');
  });
});

describe('accelerate keys that ask for something ner-launch does not do', () => {
  const refusals: [string, string][] = [
    [
      'distributed_type: DEEPSPEED\n',
      "c.yaml:1: distributed_type: 'DEEPSPEED' asks for DeepSpeed, which ner-launch does not do; use MULTI_GPU or MULTI_CPU (data-parallel replicas)",
    ],
    [
      'distributed_type: XLA\n',
      "c.yaml:1: distributed_type: 'XLA' asks for TPUs, which ner-launch does not do; ner-launch runs on NVIDIA GPUs and CPUs: use MULTI_GPU or MULTI_CPU (NO for one process)",
    ],
    [
      'distributed_type: TPU\n',
      "c.yaml:1: distributed_type: 'TPU' asks for TPUs, which ner-launch does not do; ner-launch runs on NVIDIA GPUs and CPUs: use MULTI_GPU or MULTI_CPU (NO for one process)",
    ],
    [
      'distributed_type: MULTI_XPU\n',
      "c.yaml:1: distributed_type: 'MULTI_XPU' asks for MULTI_XPU devices, which ner-launch does not do; ner-launch runs on NVIDIA GPUs and CPUs: use MULTI_GPU or MULTI_CPU (NO for one process)",
    ],
    [
      "distributed_type: 'NO'\ndeepspeed_config:\n  zero_stage: 2\n",
      'c.yaml:2: deepspeed_config: {"zero_stage":2} asks for DeepSpeed, which ner-launch does not do; remove it or leave it {}: ner-launch trains data-parallel replicas (distributed_type MULTI_GPU or MULTI_CPU)',
    ],
    [
      'use_mps_device: true\n',
      "c.yaml:1: use_mps_device: true asks for Apple's MPS device, which ner-launch does not do; remove it (ner-launch trains on NVIDIA GPUs, or on CPUs with use_cpu: true)",
    ],
    [
      'mixed_precision: fp8\n',
      "c.yaml:1: mixed_precision: 'fp8' asks for fp8 training, which ner-launch does not do; use bf16 or fp16",
    ],
    [
      'compute_environment: AMAZON_SAGEMAKER\ndistributed_type: DATA_PARALLEL\nec2_instance_type: ml.p3.2xlarge\n',
      "c.yaml:1: compute_environment: 'AMAZON_SAGEMAKER' asks for an Amazon SageMaker job, which ner-launch does not do; use LOCAL_MACHINE and run ner-launch on each machine",
    ],
  ];
  for (const [text, message] of refusals) {
    it(`refuses ${JSON.stringify(text)}`, () => {
      assert.throws(() => parseConfigText(text, 'c.yaml'), { message });
    });
  }

  it('accepts the default values of those keys without a word', () => {
    const text = [
      'use_mps_device: false',
      'deepspeed_config: {}',
      'fsdp_config: {}',
      'megatron_lm_config: {}',
      'tp_config: {}',
      'parallelism_config: {}',
      'fp8_config: {}',
      'mpirun_config: {}',
      'ipex_config: {ipex: false}',
      'dynamo_config: {}',
      "dynamo_backend: 'NO'",
      'rdzv_backend: static',
      'enable_cpu_affinity: false',
      'downcast_bf16: false',
      'commands: null',
      'tpu_vm: null',
      "distributed_type: 'NO'",
    ].join('\n');
    const values = parseConfigText(text, 'c.yaml');
    assert.deepEqual(values.flags, {});
    assert.deepEqual(values.warnings, []);
  });

  it('warns, one line each, about harmless settings it ignores', () => {
    const text =
      'ipex_config:\n  ipex: true\ndynamo_config:\n  dynamo_backend: INDUCTOR\nrdzv_backend: c10d\nenable_cpu_affinity: true\nmpirun_config:\n  mpirun_ccl: 1\n';
    assert.deepEqual(parseConfigText(text, 'c.yaml').warnings, [
      'c.yaml:1: ipex_config: {"ipex":true} ignored: Intel Extension for PyTorch does not apply to tfjs',
      'c.yaml:3: dynamo_config: {"dynamo_backend":"INDUCTOR"} ignored: torch.compile (dynamo) has no counterpart in tfjs',
      "c.yaml:5: rdzv_backend: 'c10d' ignored: the workers always meet at main_process_ip:main_process_port (a static rendezvous)",
      'c.yaml:6: enable_cpu_affinity: true ignored: ner-launch does not pin workers to NUMA nodes',
    ]);
  });

  it('reads the fp16 key of early accelerate as mixed_precision fp16, unless that is given', () => {
    assert.deepEqual(parseConfigText('fp16: true\n', 'c.yaml').flags, { mixedPrecision: 'fp16' });
    assert.deepEqual(parseConfigText('fp16: true\nmixed_precision: bf16\n', 'c.yaml').flags, {
      mixedPrecision: 'bf16',
    });
    assert.deepEqual(parseConfigText('fp16: false\n', 'c.yaml').flags, {});
  });
});

describe("accelerate's default config location", () => {
  it('is $HF_HOME/accelerate, else $XDG_CACHE_HOME/huggingface/accelerate, else ~/.cache/huggingface/accelerate', () => {
    assert.equal(
      accelerateConfigPath({ HF_HOME: '/hf', XDG_CACHE_HOME: '/x' }),
      '/hf/accelerate/default_config.yaml',
    );
    assert.equal(
      accelerateConfigPath({ XDG_CACHE_HOME: '/x' }),
      '/x/huggingface/accelerate/default_config.yaml',
    );
    assert.match(
      accelerateConfigPath({}),
      /\/\.cache\/huggingface\/accelerate\/default_config\.yaml$/,
    );
  });

  function homes() {
    const root = mkdtempSync(join(tmpdir(), 'ner-acc-'));
    const env = { NER_LAUNCH_CONFIG_DIR: join(root, 'ner'), HF_HOME: join(root, 'hf') };
    mkdirSync(join(root, 'hf', 'accelerate'), { recursive: true });
    return { env, ours: defaultConfigPath(env), accelerates: accelerateConfigPath(env) };
  }

  it("is read, saying so, when neither --config_file nor ner-launch's default file is there", () => {
    const { env, ours, accelerates } = homes();
    assert.equal(loadLaunchConfigFile(undefined, env), undefined);
    assert.deepEqual(launchConfigReport(undefined, env), [
      `- Launch config file: none (neither ${ours} nor accelerate's ${accelerates} exists)`,
    ]);
    writeFileSync(accelerates, readFileSync(fixture('config_1_15_multi_cpu.yaml')));
    const values = loadLaunchConfigFile(undefined, env)!;
    assert.equal(values.path, accelerates);
    assert.equal(values.flags.numProcesses, 4);
    assert.deepEqual(values.notes, [
      `launch config: ${accelerates} (accelerate's default; ${ours} does not exist)`,
    ]);
    const report = launchConfigReport(undefined, env);
    assert.equal(
      report[0],
      `- Launch config file: ${accelerates} (accelerate's default; ${ours} does not exist)`,
    );
    assert.ok(report.includes('    num_processes: 4'), report.join('\n'));
  });

  it("gives way to ner-launch's default file and to --config_file", () => {
    const { env, ours, accelerates } = homes();
    writeFileSync(accelerates, 'distributed_type: MULTI_CPU\nnum_processes: 4\n');
    mkdirSync(join(ours, '..'), { recursive: true });
    writeFileSync(ours, 'distributed_type: MULTI_CPU\nnum_processes: 3\n');
    assert.equal(loadLaunchConfigFile(undefined, env)!.flags.numProcesses, 3);
    assert.deepEqual(loadLaunchConfigFile(undefined, env)!.notes, []);
    assert.equal(
      launchConfigReport(undefined, env)[0],
      `- Launch config file: ${ours} (ner-launch's default)`,
    );
    const given = fixture('config_1_15_no_cpu.yaml');
    assert.equal(loadLaunchConfigFile(given, env)!.flags.numProcesses, 1);
    assert.equal(
      launchConfigReport(given, env)[0],
      `- Launch config file: ${given} (--config_file)`,
    );
  });

  it('names itself and why it was read when it does not load', () => {
    const { env, ours, accelerates } = homes();
    writeFileSync(accelerates, 'distributed_type: DEEPSPEED\n');
    assert.throws(() => loadLaunchConfigFile(undefined, env), {
      message: `${accelerates}:1: distributed_type: 'DEEPSPEED' asks for DeepSpeed, which ner-launch does not do; use MULTI_GPU or MULTI_CPU (data-parallel replicas) (accelerate's default config, read because no --config_file was given and ${ours} does not exist; pass --config_file, or run \`ner-launch config\`)`,
    });
    assert.match(
      launchConfigReport(undefined, env).at(-1)!,
      /^ {4}\(does not load: .*'DEEPSPEED' asks for DeepSpeed/,
    );
  });
});

/**
 * accelerate 1.15.0's validation of a config file, mirrored: pyyaml's YAML 1.1 reading, then
 * BaseConfig.process_config and the unknown-key check of from_yaml_file against ClusterConfig's
 * fields, then the enums of __post_init__ (commands/config/config_args.py, utils/dataclasses.py).
 */
function accelerateWouldLoad(text: string): Record<string, unknown> {
  const CLUSTER_CONFIG_FIELDS = [
    'compute_environment',
    'distributed_type',
    'mixed_precision',
    'use_cpu',
    'debug',
    'num_processes',
    'machine_rank',
    'num_machines',
    'gpu_ids',
    'main_process_ip',
    'main_process_port',
    'rdzv_backend',
    'same_network',
    'main_training_function',
    'enable_cpu_affinity',
    'fp8_config',
    'deepspeed_config',
    'fsdp_config',
    'parallelism_config',
    'megatron_lm_config',
    'mpirun_config',
    'downcast_bf16',
    'tpu_name',
    'tpu_zone',
    'tpu_use_cluster',
    'tpu_use_sudo',
    'command_file',
    'commands',
    'tpu_vm',
    'tpu_env',
    'dynamo_config',
  ];
  const DISTRIBUTED_TYPE_VALUES = [
    'NO',
    'MULTI_CPU',
    'MULTI_GPU',
    'MULTI_NPU',
    'MULTI_MLU',
    'MULTI_SDAA',
    'MULTI_MUSA',
    'MULTI_XPU',
    'DEEPSPEED',
    'FSDP',
    'XLA',
    'MEGATRON_LM',
    'MULTI_HPU',
    'MULTI_NEURON',
  ];
  const config = parse(text, { version: '1.1' }) as Record<string, unknown>;
  config.compute_environment ??= 'LOCAL_MACHINE';
  if (!('distributed_type' in config))
    throw new Error('A `distributed_type` must be specified in the config file.');
  const extra = Object.keys(config)
    .filter((k) => !CLUSTER_CONFIG_FIELDS.includes(k))
    .sort();
  if (extra.length > 0) throw new Error(`had unknown keys (${extra.join(', ')})`);
  if (config.compute_environment !== 'LOCAL_MACHINE')
    throw new Error(`compute_environment ${String(config.compute_environment)}`);
  if (!DISTRIBUTED_TYPE_VALUES.includes(config.distributed_type as string))
    throw new Error(`${String(config.distributed_type)} is not a valid DistributedType`);
  // launch reads these as typed values; pyyaml's 1.1 reading must leave them so.
  if (!['no', 'fp16', 'bf16', 'fp8'].includes(config.mixed_precision as string))
    throw new Error(`mixed_precision ${JSON.stringify(config.mixed_precision)}`);
  for (const key of ['num_processes', 'num_machines', 'machine_rank'])
    if (!Number.isInteger(config[key])) throw new Error(`${key} ${JSON.stringify(config[key])}`);
  for (const key of ['use_cpu', 'debug', 'same_network'])
    if (typeof config[key] !== 'boolean') throw new Error(`${key} ${JSON.stringify(config[key])}`);
  if ('gpu_ids' in config && typeof config.gpu_ids !== 'string')
    throw new Error(`gpu_ids ${JSON.stringify(config.gpu_ids)}`);
  return config;
}

const WRITTEN: [string, ConfigFileSettings][] = [
  ['`config default` without GPUs', defaultConfigSettings(0)],
  ['`config default` with one GPU, fp16', defaultConfigSettings(1, 'fp16')],
  ['`config default` with four GPUs, bf16', defaultConfigSettings(4, 'bf16')],
  [
    'a multi-CPU answer set',
    { ...defaultConfigSettings(0), distributedType: 'MULTI_CPU', numProcesses: 4 },
  ],
  [
    'a multi-node answer set',
    {
      ...defaultConfigSettings(8, 'bf16'),
      numMachines: 2,
      machineRank: 1,
      numProcesses: 16,
      gpuIds: '0,1,2,3,4,5,6,7',
      mainProcessIp: '10.0.0.1',
      mainProcessPort: 29501,
    },
  ],
  ['one GPU picked by id', { ...defaultConfigSettings(1), gpuIds: '1' }],
];

describe('a file written by `ner-launch config`', () => {
  for (const [what, settings] of WRITTEN) {
    it(`passes accelerate's key validation, mirrored, for ${what}`, () => {
      const text = renderConfigFile(settings);
      const config = accelerateWouldLoad(text);
      assert.equal(config.distributed_type, settings.distributedType);
      assert.equal(config.mixed_precision, settings.mixedPrecision);
      assert.equal(config.num_processes, settings.numProcesses);
      // and ner-launch reads it back to the same launch
      const flags = parseConfigText(text, 'w.yaml').flags;
      assert.equal(flags.numProcesses, settings.numProcesses);
      assert.equal(flags.mixedPrecision, settings.mixedPrecision);
      assert.equal(flags.cpu, settings.useCpu);
    });
  }

  it('spells values as accelerate does: sorted keys, quoted no/NO, unquoted bf16', () => {
    const text = renderConfigFile(defaultConfigSettings(0));
    assert.equal(
      text,
      "# ner-launch config in accelerate's keys: `accelerate launch --config_file` reads it too.\n" +
        "compute_environment: LOCAL_MACHINE\ndebug: false\ndistributed_type: 'NO'\nmachine_rank: 0\n" +
        "mixed_precision: 'no'\nnum_machines: 1\nnum_processes: 1\nsame_network: true\nuse_cpu: true\n",
    );
  });

  it('holds ner-launch-only keys only when they differ from their defaults, and says accelerate refuses them', () => {
    const text = renderConfigFile({ ...defaultConfigSettings(0), backend: 'wasm', maxRestarts: 2 });
    assert.match(text, /^# .*plus ner-launch's backend, max_restarts, which\n/);
    assert.throws(() => accelerateWouldLoad(text), /had unknown keys \(backend, max_restarts\)/);
    assert.deepEqual(parseConfigText(text, 'w.yaml').flags.backend, 'wasm');
  });
});

/** The reference venv's python when it has accelerate, else why the check skips. */
function accelerateSkip(): string | false {
  const python = referencePython();
  if (!python) return 'no Python reference venv (.venv); run .ci/run or set NER_PYTHON';
  const probe = spawnSync(python, ['-c', 'import accelerate'], { encoding: 'utf8' });
  return probe.status === 0
    ? false
    : 'accelerate is not installed in the reference venv (tools/reference/requirements.txt)';
}

// accelerate's own loader, on the files ner-launch writes: prints what it read, as JSON.
const LOAD_WITH_ACCELERATE = `
import json, sys
from accelerate.commands.config.config_args import load_config_from_file
print(json.dumps([load_config_from_file(p).to_dict() for p in sys.argv[1:]]))
`;

describe('a file written by `ner-launch config`, read by accelerate itself', () => {
  it(
    'loads in accelerate with the settings ner-launch wrote',
    { skip: accelerateSkip(), timeout: 120_000 },
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'ner-acc-write-'));
      const paths = WRITTEN.map(([, settings], i) => {
        const path = join(dir, `written-${i}.yaml`);
        writeFileSync(path, renderConfigFile(settings));
        return path;
      });
      const run = spawnSync(referencePython()!, ['-c', LOAD_WITH_ACCELERATE, ...paths], {
        encoding: 'utf8',
        env: { ...process.env, HF_HOME: join(dir, 'hf') },
      });
      assert.equal(run.status, 0, run.stderr);
      const loaded = JSON.parse(run.stdout) as Record<string, unknown>[];
      WRITTEN.forEach(([what, settings], i) => {
        const config = loaded[i];
        assert.equal(config.distributed_type, settings.distributedType, what);
        assert.equal(config.mixed_precision, settings.mixedPrecision, what);
        assert.equal(config.num_processes, settings.numProcesses, what);
        assert.equal(config.num_machines, settings.numMachines, what);
        assert.equal(config.machine_rank, settings.machineRank, what);
        assert.equal(config.use_cpu, settings.useCpu, what);
        assert.equal(config.gpu_ids, settings.useCpu ? undefined : settings.gpuIds, what);
        if (settings.numMachines > 1) {
          assert.equal(config.main_process_ip, settings.mainProcessIp, what);
          assert.equal(config.main_process_port, settings.mainProcessPort, what);
        }
      });
    },
  );
});
