/**
 * Batched matmul at attention's shapes (16 sentences x 12 heads, head size 32): our SIMD kernel
 * (packages/trainer/src/kernels/batch-matmul.wat) against tfjs-wasm's own BatchMatMul and
 * torch.bmm on one thread, best of the repeats after a warm-up, with GFLOP/s and ratios.
 * Writes bench/results/batch-matmul.json.
 *   npm run bench -- batch-matmul [--lengths 48,96,128] [--repeats 20]
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, installWasmBatchMatMul, uninstallWasmBatchMatMul } from '@ner-launch/trainer';
import { runJson, writeResult } from './model-throughput.js';

const root = dirname(dirname(fileURLToPath(import.meta.url)));

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : fallback;
}

function bestSeconds(run: () => tf.Tensor, repeats: number): number {
  run().dispose();
  let best = Infinity;
  for (let r = 0; r < repeats; r++) {
    const start = performance.now();
    const out = run();
    out.dataSync();
    best = Math.min(best, (performance.now() - start) / 1000);
    out.dispose();
  }
  return best;
}

await initBackend('wasm');
const repeats = Number(flag('repeats', '20'));
const python = join(root, '.venv', 'bin', 'python');
const cases: Record<string, unknown>[] = [];
for (const length of flag('lengths', '48,96,128').split(',').map(Number)) {
  // Scores (Q K^T: k = head size) and context (P V: k = length), as attention runs them.
  for (const [name, m, k, n] of [
    ['scores', length, 32, length],
    ['context', length, length, 32],
  ] as const) {
    const batch = 16 * 12;
    const a = tf.randomNormal([batch, m, k], 0, 1, 'float32', 1);
    const b = tf.randomNormal([batch, k, n], 0, 1, 'float32', 2);
    const flops = 2 * batch * m * k * n;
    const ours = bestSeconds(() => tf.matMul(a, b), repeats);
    uninstallWasmBatchMatMul();
    const tfjs = bestSeconds(() => tf.matMul(a, b), repeats);
    installWasmBatchMatMul();
    tf.dispose([a, b]);
    const torch = existsSync(python)
      ? await runJson<{ seconds: number; gflops: number }>(python, [
          join(root, 'tools', 'reference', 'bmm_reference.py'),
          ...['--batch', String(batch), '--m', String(m), '--k', String(k), '--n', String(n)],
          ...['--repeats', String(repeats)],
        ])
      : { error: 'no .venv/bin/python' };
    const torchSeconds = 'seconds' in torch ? torch.seconds : null;
    const row = {
      product: name,
      shape: [batch, m, k, n],
      oursSeconds: ours,
      oursGflops: flops / ours / 1e9,
      tfjsWasmSeconds: tfjs,
      tfjsWasmGflops: flops / tfjs / 1e9,
      torch,
      speedupOverTfjsWasm: tfjs / ours,
      ratioOursOverTorch: torchSeconds ? torchSeconds / ours : null,
    };
    process.stderr.write(`${JSON.stringify(row)}\n`);
    cases.push(row);
  }
}
const out = await writeResult('batch-matmul', {
  description:
    "batched float32 matmul at attention shapes: our SIMD wasm kernel vs tfjs-wasm's BatchMatMul and torch.bmm, one thread each, best of repeats; ratioOursOverTorch is torch seconds / ours (above 1: ours faster)",
  repeats,
  cases,
});
process.stdout.write(`wrote ${out}\n`);
