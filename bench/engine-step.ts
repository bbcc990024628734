/**
 * Issue 14's benchmark: a full bert-base training step (FinBERT's vocab 50105, 13 labels, batch
 * 16; forward + backward + AdamW, dropout on, random weights) through the trainer's engine on
 * each backend, against PyTorch CPU (HF BertForTokenClassification + torch.optim.AdamW, default
 * threads) of the same shape, in the same run, one case after another. Each case runs in its
 * own process; the best of the timed steps counts, after one untimed full step. Writes
 * bench/results/engine-step.json (after every case).
 *   node --import tsx bench/engine-step.ts [--seqs 128,512] [--backends tensorflow,wasm]
 *     [--wasm-seqs 128] [--repeats 2]
 * wasm runs bert-base at one thread per process in micro-batches (minutes per step), so by
 * default only at 128.
 */
import { existsSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SHAPES, runJson, writeResult, type CaseResult } from './model-throughput.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = dirname(here);
const BATCH = 16;
const SHAPE = SHAPES['bert-base'];

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : fallback;
}
const list = (name: string, fallback: string) => flag(name, fallback).split(',').filter(Boolean);

const seqs = list('seqs', '128,512').map(Number);
const backends = list('backends', 'tensorflow,wasm');
const wasmSeqs = new Set(list('wasm-seqs', '128').map(Number));
const repeats = flag('repeats', '2');
const python = join(root, '.venv', 'bin', 'python');
const shapeArgs = (seq: number) =>
  Object.entries({ ...SHAPE, batch: BATCH, seq }).flatMap(([k, v]) => [`--${k}`, String(v)]);
const tokensPerSecond = (r: CaseResult | { error: string } | undefined) =>
  r && 'tokensPerSecond' in r ? r.tokensPerSecond : undefined;

const cases: Record<string, unknown>[] = [];
const loadAverageAtStart = loadavg();
for (const seq of seqs) {
  const row: Record<string, unknown> = { seq, batch: BATCH };
  cases.push(row);
  process.stderr.write(`bert-base ${BATCH}x${seq}: torch (default threads)...\n`);
  const torch = existsSync(python)
    ? await runJson(python, [
        join(root, 'tools', 'reference', 'bench_reference.py'),
        ...shapeArgs(seq),
        '--mode',
        'train',
        '--optimizer',
        'adamw',
        '--warmup',
        'full',
        '--threads',
        '0',
        '--repeats',
        repeats,
      ])
    : { error: `no reference Python at ${python}` };
  row.torch = torch;
  for (const backend of backends) {
    if (backend === 'wasm' && !wasmSeqs.has(seq)) continue;
    process.stderr.write(`bert-base ${BATCH}x${seq}: ${backend}...\n`);
    const result = await runJson(
      process.execPath,
      [
        '--import',
        'tsx',
        join(here, 'engine-step-worker.ts'),
        '--backend',
        backend,
        '--threads',
        String(cpus().length),
        ...shapeArgs(seq),
        '--repeats',
        backend === 'wasm' ? '1' : repeats,
      ],
      { echo: `${backend} ${seq}` },
    );
    const ours = tokensPerSecond(result);
    const theirs = tokensPerSecond(torch);
    row[backend] = {
      ...result,
      ratioOverTorch: ours !== undefined && theirs !== undefined ? ours / theirs : null,
    };
  }
  await writeResult('engine-step', {
    description:
      'one full bert-base training step (FinBERT vocab 50105, 13 labels, batch 16; forward + backward + clip + AdamW, dropout on, random weights) through the trainer engine per backend (bench/engine-step-worker.ts: memory plan, gradients and optimizer as the backend profile says) vs HF BertForTokenClassification + torch.optim.AdamW on CPU with default threads, same run; best of the timed steps after one untimed full step; ratioOverTorch = tokens/s ours / torch',
    command: `node --import tsx bench/engine-step.ts ${process.argv.slice(2).join(' ')}`.trim(),
    loadAverageAtStart,
    cases,
  });
}
