/**
 * Issue 7's benchmark: full bert-base training steps (FinBERT's vocab, 13 labels, batch 16;
 * forward + backward + AdamW) at each sequence length on tfjs-wasm, micro-batched / recomputed
 * as the memory plan decides, by one process alone and by two processes at once (each its own
 * step, started together), against PyTorch CPU of the same shape in the same run with as many
 * threads as there are wasm processes. Each wasm process is bench/memory-step.ts, so its plan,
 * peak RSS, wasm heap and peak tensor bytes are its own. Writes
 * bench/results/bert-base-seq-length.json (after every length, so a later failure keeps the
 * earlier figures).
 *   node --import tsx bench/bert-base-seq-length.ts [--seqs 128,512] [--layouts 1,2]
 */
import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SHAPES, runJson, writeResult, type CaseResult } from './model-throughput.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = dirname(here);
const BATCH = 16;
const SHAPE = SHAPES['bert-base'];

/** What bench/memory-step.ts prints (the fields read here). */
interface StepResult {
  config: unknown;
  batchSize: number;
  seqLen: number;
  mode: string;
  tokensPerSecond: number;
  [key: string]: unknown;
}
type Failed = { error: string };
const ok = <T extends object>(r: T | Failed): r is T => !('error' in r);

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : fallback;
}

function shapeArgs(seq: number): string[] {
  return Object.entries({ ...SHAPE, batch: BATCH, seq }).flatMap(([k, v]) => [`--${k}`, String(v)]);
}

/** `processes` wasm training steps started together, each in its own process. */
async function wasmSteps(seq: number, processes: number) {
  const started = performance.now();
  const results = await Promise.all(
    Array.from({ length: processes }, (_, i) =>
      runJson<StepResult>(
        process.execPath,
        [
          '--import',
          'tsx',
          join(here, 'memory-step.ts'),
          ...shapeArgs(seq),
          '--world-size',
          String(processes),
        ],
        { echo: `wasm ${BATCH}x${seq} ${i + 1}/${processes}` },
      ),
    ),
  );
  const perProcess = results.map((r) => {
    if (!ok(r)) return r;
    // The shape is the case's; keep what differs per process.
    const { config: _c, batchSize: _b, seqLen: _s, mode: _m, ...rest } = r;
    return rest;
  });
  return {
    wallSeconds: (performance.now() - started) / 1000,
    perProcess,
    tokensPerSecond: results.every(ok)
      ? results.reduce((sum, r) => sum + r.tokensPerSecond, 0)
      : null,
  };
}

/** PyTorch CPU: one untimed full step, then the best of `repeats` timed steps. */
function torchStep(seq: number, threads: number, repeats: number) {
  const python = join(root, '.venv', 'bin', 'python');
  if (!existsSync(python)) return Promise.resolve({ error: `no ${python}` });
  return runJson<CaseResult>(
    python,
    [
      join(root, 'tools', 'reference', 'bench_reference.py'),
      ...shapeArgs(seq),
      '--mode',
      'train',
      '--optimizer',
      'adamw',
      '--warmup',
      'full',
      '--threads',
      String(threads),
      '--repeats',
      String(repeats),
    ],
    { echo: `torch ${BATCH}x${seq} ${threads} thread(s)` },
  );
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const seqs = flag('seqs', '128,512').split(',').map(Number);
  const layouts = flag('layouts', '1,2').split(',').map(Number);
  const loadAverageAtStart = loadavg();
  const cases: Record<string, unknown>[] = [];
  let failed = false;
  for (const seq of seqs) {
    const rows: Record<string, unknown>[] = [];
    for (const processes of layouts) {
      process.stderr.write(`bert-base ${BATCH}x${seq}: ${processes} wasm process(es)...\n`);
      const wasm = await wasmSteps(seq, processes);
      // Timed steps are cheap next to wasm's; fewer at 512, where one torch step is minutes.
      const torch = await torchStep(seq, processes, seq > 128 ? 2 : 3);
      const row = {
        processes,
        wasm,
        torch,
        ratioWasmOverTorch:
          wasm.tokensPerSecond !== null && ok(torch)
            ? wasm.tokensPerSecond / torch.tokensPerSecond
            : null,
      };
      failed ||= row.ratioWasmOverTorch === null;
      process.stderr.write(`${JSON.stringify(row)}\n`);
      rows.push(row);
    }
    cases.push({ seq, batch: BATCH, layouts: rows });
    const out = await writeResult('bert-base-seq-length', {
      description:
        'one full training step (forward + backward + AdamW, dropout on, random weights) of bert-base with FinBERT vocab 50105 and 13 labels at batch 16 per process. ' +
        'wasm: bench/memory-step.ts per process, memory plan chosen automatically (micro-batch size, per-layer recomputation), one short warm-up forward, one timed step; ' +
        'layout processes=1 is one process alone, processes=2 is two processes started together (each its own batch of 16, plan made for 2 processes sharing memory; the OS places them, one per core). ' +
        'torch: BertForTokenClassification of the same shape, one untimed full step then the best of the timed steps (seconds lists them), with threads = processes. ' +
        'wasm.tokensPerSecond is summed over the processes; ratioWasmOverTorch = wasm.tokensPerSecond / torch.tokensPerSecond.',
      command:
        `node --import tsx bench/bert-base-seq-length.ts ${process.argv.slice(2).join(' ')}`.trim(),
      shape: { ...SHAPE, batch: BATCH },
      loadAverageAtStart,
      cases,
    });
    process.stderr.write(`wrote ${out}\n`);
  }
  if (failed) process.exitCode = 1;
}
