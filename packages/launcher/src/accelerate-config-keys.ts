/**
 * The keys `accelerate config` has written from accelerate 0.11 to 1.15 that do not map onto a
 * launch flag, and what each means here: nothing (ignored), something harmless we do not do
 * (ignored with a warning), or something ner-launch cannot do (refused, naming what to use
 * instead). Key set from accelerate's commands/config/config_args.py (ClusterConfig and
 * BaseConfig.process_config) over its history; keys mapped onto flags live in launch-options.ts.
 */

/** What a config-file key asks of ner-launch. */
export type KeyVerdict =
  | { action: 'ignore' }
  | { action: 'warn'; why: string }
  | { action: 'refuse'; asksFor: string; instead: string };

/** Values of accelerate's distributed_type that ner-launch runs. */
export const DISTRIBUTED_TYPES = ['NO', 'MULTI_GPU', 'MULTI_CPU'] as const;

const IGNORE: KeyVerdict = { action: 'ignore' };

/** null, {} or [] (as accelerate writes an unused section). */
function isEmpty(value: unknown): boolean {
  if (value === null || value === undefined) return true;
  if (Array.isArray(value)) return value.length === 0;
  return typeof value === 'object' && Object.keys(value).length === 0;
}

/** A section that configures a feature ner-launch lacks: empty is fine, anything else refused. */
function unsupportedSection(asksFor: string, instead: string): (value: unknown) => KeyVerdict {
  return (value) => (isEmpty(value) ? IGNORE : { action: 'refuse', asksFor, instead });
}

const DATA_PARALLEL =
  'remove it or leave it {}: ner-launch trains data-parallel replicas (distributed_type MULTI_GPU or MULTI_CPU)';

function dynamoVerdict(backend: unknown): KeyVerdict {
  return backend === undefined || backend === null || String(backend).toUpperCase() === 'NO'
    ? IGNORE
    : { action: 'warn', why: 'torch.compile (dynamo) has no counterpart in tfjs' };
}

/** Every accelerate key without a launch flag, with its verdict for a given value. */
export const ACCELERATE_ONLY_KEYS: ReadonlyMap<string, (value: unknown) => KeyVerdict> = new Map<
  string,
  (value: unknown) => KeyVerdict
>([
  ['deepspeed_config', unsupportedSection('DeepSpeed', DATA_PARALLEL)],
  ['fsdp_config', unsupportedSection('FSDP sharding', DATA_PARALLEL)],
  ['megatron_lm_config', unsupportedSection('Megatron-LM parallelism', DATA_PARALLEL)],
  ['tp_config', unsupportedSection('tensor parallelism', DATA_PARALLEL)],
  ['parallelism_config', unsupportedSection('tensor/context parallelism', DATA_PARALLEL)],
  [
    'fp8_config',
    unsupportedSection('fp8 training', 'remove it and use mixed_precision bf16 or fp16'),
  ],
  [
    'mpirun_config',
    // accelerate only starts mpirun when a hostfile is given (mpirun_ccl alone does nothing).
    (value) =>
      isEmpty(value) || isEmpty((value as Record<string, unknown>).mpirun_hostfile)
        ? IGNORE
        : {
            action: 'refuse',
            asksFor: 'mpirun to start the workers of every machine',
            instead:
              'remove it and run ner-launch on each machine with its --machine_rank (see configs/slurm-multi-node.sbatch)',
          },
  ],
  [
    'use_mps_device',
    (value) =>
      value === true
        ? {
            action: 'refuse',
            asksFor: "Apple's MPS device",
            instead: 'remove it (ner-launch trains on NVIDIA GPUs, or on CPUs with use_cpu: true)',
          }
        : IGNORE,
  ],
  [
    'ipex_config',
    (value) =>
      isEmpty(value) || Object.values(value as object).every((v) => !v)
        ? IGNORE
        : { action: 'warn', why: 'Intel Extension for PyTorch does not apply to tfjs' },
  ],
  [
    'dynamo_config',
    (value) =>
      isEmpty(value) ? IGNORE : dynamoVerdict((value as Record<string, unknown>).dynamo_backend),
  ],
  ['dynamo_backend', dynamoVerdict], // before accelerate 0.18
  [
    'rdzv_backend',
    (value) =>
      value === null || value === 'static'
        ? IGNORE
        : {
            action: 'warn',
            why: 'the workers always meet at main_process_ip:main_process_port (a static rendezvous)',
          },
  ],
  [
    'enable_cpu_affinity',
    (value) =>
      value === true
        ? { action: 'warn', why: 'ner-launch does not pin workers to NUMA nodes' }
        : IGNORE,
  ],
  // Used only by TPU launches, notebooks and `accelerate tpu-config`: meaningless here.
  ['downcast_bf16', () => IGNORE],
  ['main_training_function', () => IGNORE],
  ['tpu_name', () => IGNORE],
  ['tpu_zone', () => IGNORE],
  ['tpu_use_cluster', () => IGNORE],
  ['tpu_use_sudo', () => IGNORE],
  ['tpu_vm', () => IGNORE],
  ['tpu_env', () => IGNORE],
  ['command_file', () => IGNORE],
  ['commands', () => IGNORE],
  ['command', () => IGNORE], // `commands` before accelerate 0.17
]);

const OTHER_DEVICES =
  'ner-launch runs on NVIDIA GPUs and CPUs: use MULTI_GPU or MULTI_CPU (NO for one process)';

/** distributed_type values accelerate knows (0.11 to 1.15) that ner-launch does not run. */
export const REFUSED_DISTRIBUTED_TYPES: ReadonlyMap<string, { asksFor: string; instead: string }> =
  new Map([
    [
      'DEEPSPEED',
      { asksFor: 'DeepSpeed', instead: 'use MULTI_GPU or MULTI_CPU (data-parallel replicas)' },
    ],
    [
      'FSDP',
      { asksFor: 'FSDP sharding', instead: 'use MULTI_GPU or MULTI_CPU (data-parallel replicas)' },
    ],
    [
      'MEGATRON_LM',
      {
        asksFor: 'Megatron-LM parallelism',
        instead: 'use MULTI_GPU or MULTI_CPU (data-parallel replicas)',
      },
    ],
    ['XLA', { asksFor: 'TPUs', instead: OTHER_DEVICES }],
    ['TPU', { asksFor: 'TPUs', instead: OTHER_DEVICES }],
    ...[
      'MPS',
      'MULTI_XPU',
      'MULTI_NPU',
      'MULTI_MLU',
      'MULTI_SDAA',
      'MULTI_MUSA',
      'MULTI_HPU',
      'MULTI_NEURON',
    ].map((type) => [type, { asksFor: `${type} devices`, instead: OTHER_DEVICES }] as const),
  ]);
