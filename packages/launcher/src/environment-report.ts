/** What `ner-launch env` reports: versions, backends, GPUs and the launch config in use. */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { arch, cpus, platform, release, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { defaultConfigPath } from './config-file.js';
import { tensorflowReportLines } from './setup/tensorflow-report.js';

const require = createRequire(import.meta.url);

function packageVersion(name: string): string {
  try {
    // Read package.json through the resolved entry: some packages do not export it.
    let dir = require.resolve(name);
    for (let i = 0; i < 6; i++) {
      dir = dir.slice(0, dir.lastIndexOf('/'));
      const manifest = `${dir}/package.json`;
      if (existsSync(manifest)) {
        const parsed = JSON.parse(readFileSync(manifest, 'utf8')) as {
          name?: string;
          version?: string;
        };
        if (parsed.name === name) return parsed.version ?? '?';
      }
    }
    return 'installed';
  } catch {
    return 'not installed';
  }
}

function webgpuAdapter(): string {
  const probe = fileURLToPath(new URL('./webgpu-probe.ts', import.meta.url));
  const result = spawnSync(process.execPath, ['--import', import.meta.resolve('tsx'), probe], {
    encoding: 'utf8',
    timeout: 20_000,
  });
  if (result.error || result.status !== 0) return 'probe failed';
  return result.stdout.trim() === 'true' ? 'adapter found' : 'no adapter';
}

function nvidiaGpus(): string[] {
  const result = spawnSync('nvidia-smi', ['-L'], { encoding: 'utf8', timeout: 10_000 });
  if (result.error || result.status !== 0) return [];
  return result.stdout.split('\n').filter((l) => l.trim() !== '');
}

/** Collects the report as text lines (probing GPUs takes a few seconds). */
export function environmentReport(
  configFile: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): string {
  const launcherManifest = JSON.parse(
    readFileSync(fileURLToPath(new URL('../package.json', import.meta.url)), 'utf8'),
  ) as { version: string };
  const gpus = nvidiaGpus();
  const path = configFile ?? defaultConfigPath(env);
  const lines = [
    'Copy-and-paste the text below in your issue report.',
    '',
    `- ner-launch version: ${launcherManifest.version}`,
    `- Platform: ${platform()} ${release()} ${arch()}`,
    `- Node version: ${process.versions.node}`,
    `- CPUs: ${cpus().length} (${cpus()[0]?.model ?? '?'})`,
    `- RAM: ${(totalmem() / 2 ** 30).toFixed(1)} GiB`,
    `- @tensorflow/tfjs-core: ${packageVersion('@tensorflow/tfjs-core')}`,
    `- @grpc/grpc-js: ${packageVersion('@grpc/grpc-js')}`,
    '- Backends:',
    `  - wasm: ${packageVersion('@tensorflow/tfjs-backend-wasm')}`,
    `  - cpu: ${packageVersion('@tensorflow/tfjs-backend-cpu')}`,
    ...tensorflowReportLines(env),
    `  - webgpu: ${packageVersion('@tensorflow/tfjs-backend-webgpu')}, ${webgpuAdapter()}`,
    `- NVIDIA GPUs (nvidia-smi -L): ${gpus.length ? '' : 'none found'}`,
    ...gpus.map((g) => `  - ${g}`),
    `- CUDA_VISIBLE_DEVICES: ${env.CUDA_VISIBLE_DEVICES ?? '(unset)'}`,
    `- Launch config file: ${path}${existsSync(path) ? '' : ' (not found)'}`,
  ];
  if (existsSync(path))
    lines.push(
      ...readFileSync(path, 'utf8')
        .split('\n')
        .filter((l) => l.trim() !== '' && !l.startsWith('#'))
        .map((l) => `    ${l}`),
    );
  return `${lines.join('\n')}\n`;
}
