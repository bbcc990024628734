/** What `ner-launch env` reports: versions, backends, GPUs and the launch config in use. */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { arch, cpus, platform, release, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { describeConfigLocation, locateConfigFile, readConfigFile } from './config-file.js';
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

/**
 * The CUDA engine's own probe (driver, GPUs, libraries), which nothing else prints: a launch
 * without `--backend cuda` never runs it.
 */
async function cudaEngineLines(): Promise<string[]> {
  // Imported here: koffi and the CUDA bindings stay out of every other command's start-up.
  const { cudaAvailability } = await import('@ner-launch/cuda');
  const found = cudaAvailability();
  if (found.unavailable) return [`  - cuda: unavailable (${found.unavailable})`];
  return [
    `  - cuda: driver ${found.driverVersion ?? '?'}, ${found.gpus.length} GPU(s)${found.ncclMissing ? `; no NCCL: ${found.ncclMissing}` : ''}`,
    ...found.gpus.map(
      (g) =>
        `    GPU ${g.index}: ${g.name} (compute ${g.computeCapability.join('.')}, ${(g.memoryBytes / 2 ** 30).toFixed(1)} GiB)`,
    ),
  ];
}

function nvidiaGpus(): string[] {
  const result = spawnSync('nvidia-smi', ['-L'], { encoding: 'utf8', timeout: 10_000 });
  if (result.error || result.status !== 0) return [];
  return result.stdout.split('\n').filter((l) => l.trim() !== '');
}

/** The report's lines on the launch config: which file a launch reads, why, its text and whether it loads. */
export function launchConfigReport(
  configFile: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): string[] {
  const location = locateConfigFile(configFile, env);
  const lines = [`- Launch config file: ${describeConfigLocation(location, env)}`];
  const path = location.path;
  if (path === undefined) return lines;
  if (!existsSync(path)) return [...lines, '    (not found)'];
  try {
    lines.push(
      ...readFileSync(path, 'utf8')
        .split('\n')
        .filter((l) => l.trim() !== '' && !l.trimStart().startsWith('#'))
        .map((l) => `    ${l}`),
    );
    const { warnings } = readConfigFile(path);
    lines.push(...warnings.map((w) => `    (warning: ${w})`));
  } catch (error) {
    lines.push(`    (does not load: ${(error as Error).message})`);
  }
  return lines;
}

/** Collects the report as text lines (probing GPUs takes a few seconds). */
export async function environmentReport(
  configFile: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): Promise<string> {
  const launcherManifest = JSON.parse(
    readFileSync(fileURLToPath(new URL('../package.json', import.meta.url)), 'utf8'),
  ) as { version: string };
  const gpus = nvidiaGpus();
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
    ...(await cudaEngineLines()),
    `- NVIDIA GPUs (nvidia-smi -L): ${gpus.length ? '' : 'none found'}`,
    ...gpus.map((g) => `  - ${g}`),
    `- CUDA_VISIBLE_DEVICES: ${env.CUDA_VISIBLE_DEVICES ?? '(unset)'}`,
    ...launchConfigReport(configFile, env),
  ];
  return `${lines.join('\n')}\n`;
}
