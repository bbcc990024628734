/**
 * The CUDA engine's GPU check, bundled by tools/cuda/prepare.sh into .cuda/gpu-check.mjs and run
 * by tools/cuda/check.sh on a GPU machine. One mode per call, each writing one JSON file:
 *   --env OUT.json                      libraries, driver, GPUs (or the one-line reason it cannot run)
 *   --kernels OUT.json                  each kernel against its float64 reference
 *   --parity DIR --out OUT.json         the model against tools/cuda/torch_reference.py's DIR
 *   --ddp DIR --out OUT.json            2 processes on one GPU == 1 process on the whole batch
 *   --throughput 16x128,16x512 --precisions fp32,bf16 --out OUT.json
 *   --summary DIR                       summary.md from the JSON files and torch.json in DIR
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { cudaAvailability, type Precision } from '@ner-launch/cuda';
import { CheckDevice } from './device.js';
import { runKernelChecks } from './kernel-checks.js';
import { ddpCheck, ddpChild, parityCheck } from './model-checks.js';
import { throughput } from './throughput.js';

function say(line: string): void {
  process.stderr.write(`[cuda-check] ${line}\n`);
}

function write(path: string, value: unknown): void {
  writeFileSync(path, `${JSON.stringify(value, null, 1)}\n`);
  say(`wrote ${path}`);
}

function readJson(path: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** summary.md: every verdict and our tokens/s over PyTorch's per shape and mode. */
function summarize(dir: string): string {
  const env = readJson(join(dir, 'env.json'));
  const lines = [
    `# CUDA engine GPU check (${String((env?.gpus as { name: string }[] | undefined)?.[0]?.name ?? 'no GPU')}, driver ${String(env?.driverVersion ?? '?')})`,
    '',
  ];
  if (env?.unavailable) lines.push(`- unavailable: ${String(env.unavailable)}`);
  const kernels = readJson(join(dir, 'kernels.json'));
  for (const k of (kernels?.checks as
    | {
        kernel: string;
        shape: string;
        pass: boolean;
        errors: Record<string, number>;
        error?: string;
      }[]
    | undefined) ?? [])
    lines.push(
      `- kernel ${k.kernel} (${k.shape}): ${k.pass ? 'PASS' : 'FAIL'} ${JSON.stringify(k.errors)}${k.error ? ` ERROR ${k.error.slice(0, 300)}` : ''}`,
    );
  for (const file of ['parity-fp32.json', 'parity-tf32.json', 'parity-bf16.json', 'ddp.json']) {
    const result = readJson(join(dir, file));
    lines.push(`- ${file}: ${result ? JSON.stringify(result) : 'missing (see the logs)'}`);
  }
  const ours =
    (readJson(join(dir, 'throughput.json'))?.results as Record<string, unknown>[] | undefined) ??
    [];
  const theirs =
    (readJson(join(dir, 'torch.json'))?.results as Record<string, unknown>[] | undefined) ?? [];
  lines.push(
    '',
    '| shape | mode | ours tokens/s | torch tokens/s | ours / torch |',
    '|---|---|---|---|---|',
  );
  for (const row of ours) {
    const torchMode = row.mode === 'fp32' ? 'fp32' : row.mode;
    const match = theirs.find((t) => t.shape === row.shape && t.mode === torchMode);
    const a = Number(row.tokens_per_second);
    const b = Number(match?.tokens_per_second);
    lines.push(
      `| ${String(row.shape)} | ${String(row.mode)} | ${a ? a.toFixed(0) : String(row.error)} | ${b ? b.toFixed(0) : '-'} | ${a && b ? (a / b).toFixed(3) : '-'} |`,
    );
  }
  return `${lines.join('\n')}\n`;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv[0] === '--ddp-child') {
    const [dir, from, to, out] = argv.slice(1) as [string, string, string, string];
    await ddpChild(dir, Number(from), Number(to), out);
    return;
  }
  const { values } = parseArgs({
    args: argv,
    options: {
      env: { type: 'string' },
      kernels: { type: 'string' },
      parity: { type: 'string' },
      ddp: { type: 'string' },
      throughput: { type: 'string' },
      precisions: { type: 'string', default: 'fp32,bf16' },
      precision: { type: 'string', default: 'fp32' },
      steps: { type: 'string', default: '10' },
      warmup: { type: 'string', default: '3' },
      out: { type: 'string' },
      summary: { type: 'string' },
    },
  });
  if (values.env) {
    const availability = cudaAvailability();
    if (availability.unavailable) say(availability.unavailable);
    write(values.env, availability);
  } else if (values.kernels) {
    const device = new CheckDevice();
    try {
      const checks = runKernelChecks(device);
      for (const c of checks)
        say(
          `${c.pass ? 'PASS' : 'FAIL'} ${c.kernel} (${c.shape}) ${JSON.stringify(c.errors)} ${c.error ?? ''}`,
        );
      write(values.kernels, { device: device.name, checks });
    } finally {
      device.dispose();
    }
  } else if (values.parity) {
    const result = await parityCheck(values.parity, values.precision as Precision);
    say(JSON.stringify(result));
    write(values.out!, result);
  } else if (values.ddp) {
    const result = await ddpCheck(values.ddp, process.argv[1]!, values.ddp);
    say(JSON.stringify(result));
    write(values.out!, result);
  } else if (values.throughput) {
    const results = throughput(
      values.throughput.split(','),
      values.precisions.split(',') as Precision[],
      Number(values.steps),
      Number(values.warmup),
    );
    for (const r of results) say(JSON.stringify(r));
    write(values.out!, { results });
  } else if (values.summary) {
    const text = summarize(values.summary);
    writeFileSync(join(values.summary, 'summary.md'), text);
    process.stderr.write(text);
  } else throw new Error('give one of --env, --kernels, --parity, --ddp, --throughput, --summary');
}

main().catch((error: unknown) => {
  say(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exit(1);
});
