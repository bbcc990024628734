/**
 * Model throughput (issue 3): forward and forward + backward tokens/s of the bert-base shape
 * (FinBERT's vocab, 13 labels) and the all-MiniLM-L6-v2 shape at batch 16 x 128, on tfjs-wasm,
 * next to PyTorch CPU measured in the same run (tools/reference/bench_reference.py, with one
 * thread and with torch's default threads), as ratios; the peak RSS of every case (each runs
 * in its own process). Writes bench/results/model-throughput.json.
 *   node --import tsx bench/model-throughput.ts [--models bert-base,minilm] [--modes forward,train]
 *     [--seqs 128] [--repeats 1] [--out model-throughput]
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { HostBatch } from '@ner-launch/trainer';
import { writeFileAtomic } from '@ner-launch/common';
import { machineInfo } from './machine-info.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = dirname(here);

/** Model shapes by name (random weights: throughput does not depend on the values). */
export const SHAPES = {
  'bert-base': { layers: 12, hidden: 768, heads: 12, intermediate: 3072, vocab: 50105, labels: 13 },
  minilm: { layers: 6, hidden: 384, heads: 12, intermediate: 1536, vocab: 30522, labels: 13 },
} as const;
export type ShapeName = keyof typeof SHAPES;

/** One measured case as the workers print it. */
export interface CaseResult {
  framework: string;
  threads: number;
  mode: string;
  batch: number;
  seq: number;
  seconds: number[];
  tokensPerSecond: number;
  peakRssBytes: number;
  [key: string]: unknown;
}

/**
 * Runs one benchmark process and resolves with the JSON object on its last stdout line, or with
 * the exit code and the end of its stderr. With `echo`, stderr lines are passed on prefixed, so
 * long cases show progress (and a failing case's plan and error stay in the run's log).
 */
export function runJson<T = CaseResult>(
  command: string,
  args: string[],
  options: { echo?: string } = {},
): Promise<T | { error: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, {
      cwd: root,
      env: { ...process.env, NER_LOG_LEVEL: 'error' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      const text = d.toString();
      err += text;
      if (options.echo !== undefined)
        process.stderr.write(text.replace(/^(?=.)/gm, `[${options.echo}] `));
    });
    child.on('close', (code) => {
      const line = out.trim().split('\n').pop() ?? '';
      if (code === 0 && line.startsWith('{')) resolve(JSON.parse(line) as T);
      else resolve({ error: `exit ${code}: ${err.slice(-2000)}` });
    });
  });
}

/** A deterministic batch of random token ids and labels, every position attended and labelled. */
export function randomBatch(batch: number, seq: number, vocab: number, labels: number): HostBatch {
  let state = 12345;
  const next = () => (state = (Math.imul(state, 1103515245) + 12345) >>> 0) >>> 8;
  const inputIds = new Int32Array(batch * seq);
  const labelArray = new Int32Array(batch * seq);
  for (let i = 0; i < inputIds.length; i++) {
    inputIds[i] = 5 + (next() % (vocab - 5));
    labelArray[i] = next() % labels;
  }
  return {
    batchSize: batch,
    seqLen: seq,
    inputIds,
    attentionMask: new Int32Array(batch * seq).fill(1),
    labels: labelArray,
    labelledCount: batch * seq,
  };
}

/** Runs wasm and PyTorch (1 thread, default threads) for each model, mode and length. */
export async function measureCases(options: {
  models: ShapeName[];
  modes: ('forward' | 'train')[];
  seqs: number[];
  batch: number;
  repeats: number;
}): Promise<Record<string, unknown>[]> {
  const python = join(root, '.venv', 'bin', 'python');
  const hasPython = existsSync(python);
  const rows: Record<string, unknown>[] = [];
  for (const model of options.models)
    for (const seq of options.seqs)
      for (const mode of options.modes) {
        const shape = SHAPES[model];
        const shapeArgs = Object.entries({ ...shape, batch: options.batch, seq }).flatMap(
          ([k, v]) => [`--${k}`, String(v)],
        );
        const common = [...shapeArgs, '--mode', mode, '--repeats', String(options.repeats)];
        process.stderr.write(`${model} ${options.batch}x${seq} ${mode}: wasm...\n`);
        const wasm = await runJson(process.execPath, [
          '--import',
          'tsx',
          join(here, 'throughput-worker.ts'),
          ...common,
        ]);
        const torch: Record<string, CaseResult | { error: string }> = {};
        if (hasPython)
          for (const threads of [1, 0]) {
            process.stderr.write(
              `${model} ${options.batch}x${seq} ${mode}: torch threads ${threads || 'default'}...\n`,
            );
            torch[threads === 1 ? 'oneThread' : 'defaultThreads'] = await runJson(python, [
              join(root, 'tools', 'reference', 'bench_reference.py'),
              ...common,
              '--threads',
              String(threads),
            ]);
          }
        const ratio = (other: CaseResult | { error: string } | undefined) =>
          other && 'tokensPerSecond' in other && 'tokensPerSecond' in wasm
            ? wasm.tokensPerSecond / other.tokensPerSecond
            : null;
        const row = {
          model,
          batch: options.batch,
          seq,
          mode: mode === 'train' ? 'forward+backward' : 'forward',
          wasm,
          torch,
          ratioWasmOverTorchOneThread: ratio(torch.oneThread),
          ratioWasmOverTorchDefaultThreads: ratio(torch.defaultThreads),
        };
        process.stderr.write(`${JSON.stringify(row)}\n`);
        rows.push(row);
      }
  return rows;
}

/** Writes a result file under bench/results with machine info. */
export async function writeResult(name: string, body: Record<string, unknown>): Promise<string> {
  const out = join(here, 'results', `${name}.json`);
  const report = {
    benchmark: name,
    date: new Date().toISOString(),
    machine: machineInfo(),
    ...body,
  };
  await writeFileAtomic(out, `${JSON.stringify(report, null, 2)}\n`);
  return out;
}

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : fallback;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const rows = await measureCases({
    models: flag('models', 'bert-base,minilm').split(',') as ShapeName[],
    modes: flag('modes', 'forward,train').split(',') as ('forward' | 'train')[],
    seqs: flag('seqs', '128').split(',').map(Number),
    batch: Number(flag('batch', '16')),
    repeats: Number(flag('repeats', '1')),
  });
  const out = await writeResult(flag('out', 'model-throughput'), {
    description:
      'tokens/s of forward (eval) and forward+backward (training, dropout on; wasm as the memory plan runs it) on random weights; ratios are wasm / torch',
    cases: rows,
  });
  process.stdout.write(`wrote ${out}\n`);
}
