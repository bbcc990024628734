/**
 * Issue 7's benchmark: bert-base (FinBERT vocab, 13 labels) forward + backward tokens/s at
 * batch 16 x 128 and 16 x 512 on tfjs-wasm (micro-batched / recomputed as the memory plan
 * decides) against PyTorch CPU on the same machine in the same run. Writes
 * bench/results/bert-base-seq-length.json.
 *   node --import tsx bench/bert-base-seq-length.ts [--seqs 128,512] [--repeats 1]
 */
import { fileURLToPath } from 'node:url';
import { measureCases, writeResult } from './model-throughput.js';

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : fallback;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const rows = await measureCases({
    models: ['bert-base'],
    modes: ['train'],
    seqs: flag('seqs', '128,512').split(',').map(Number),
    batch: 16,
    repeats: Number(flag('repeats', '1')),
  });
  const out = await writeResult('bert-base-seq-length', {
    description:
      'bert-base forward+backward tokens/s at 128 and 512 tokens, wasm (as planned: micro-batches / recomputation) vs torch CPU; ratios are wasm / torch',
    cases: rows,
  });
  process.stdout.write(`wrote ${out}\n`);
}
