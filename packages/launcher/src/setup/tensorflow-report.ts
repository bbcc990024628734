/** The `tensorflow` lines of `ner-launch env`: the install, its TF version and build, its GPUs. */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { findTensorflowInstall } from '@ner-launch/trainer/tensorflow-install';
import type { TensorflowInstallInfo } from '@ner-launch/trainer/tensorflow-loader';

/** GPUs in TensorFlow's "Created device .../device:GPU:0 ... name: X, pci bus id: Y" log lines. */
export function gpusInTensorflowLog(stderr: string): string[] {
  const gpus: string[] = [];
  const pattern = /device:(GPU:\d+) with .*?name: ([^,]+), pci bus id: ([^,\s]+)/g;
  for (const m of stderr.matchAll(pattern)) gpus.push(`${m[1]} ${m[2]} (PCI ${m[3]})`);
  return gpus;
}

/** Lines for `ner-launch env` (loads libtensorflow in a child process, ~1-2 s). */
export function tensorflowReportLines(env: NodeJS.ProcessEnv = process.env): string[] {
  const install = findTensorflowInstall(env);
  if (!install)
    return ['  - tensorflow: not set up (ner-launch setup tensorflow, or --gpu for CUDA 12)'];
  const probe = fileURLToPath(new URL('./tensorflow-probe.ts', import.meta.url));
  const result = spawnSync(process.execPath, ['--import', import.meta.resolve('tsx'), probe], {
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...env, TF_CPP_MIN_LOG_LEVEL: '0' },
  });
  const json = result.stdout?.trim().split('\n').pop() ?? '';
  if (result.status !== 0 || !json.startsWith('{'))
    return [
      `  - tensorflow: ${install.dir} does not load: ${(result.stderr ?? '').trim().split('\n').pop() ?? `exit ${result.status}`}`,
    ];
  const info = JSON.parse(json) as TensorflowInstallInfo;
  const gpus = gpusInTensorflowLog(result.stderr ?? '');
  const build = info.build === 'gpu' ? 'CUDA build' : 'CPU build';
  return [
    `  - tensorflow: TensorFlow ${info.tensorflowVersion}, ${build} (${info.dir})`,
    `    GPUs TensorFlow sees: ${gpus.length > 0 ? gpus.join('; ') : info.build === 'gpu' ? 'none (runs on the CPU)' : 'none (CPU build)'}`,
  ];
}
