/**
 * Measures what tfjs keeps during a training step, an evaluation forward and a recomputed step
 * over small BERT shapes (peak tensor bytes from tf.profile, exact and independent of heap
 * history), fits the per-layer coefficients that memory-estimate.ts uses by least squares, and
 * prints them next to the estimate's current ratio for every shape. Not a test; used to set
 * LAYER_COEFFICIENTS.
 *   NER_LOG_LEVEL=error node --import tsx bench/memory-calibration.ts
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  BertForTokenClassification,
  computeStepGradients,
  estimateMemory,
  forwardLogitsInMicroBatches,
  initBackend,
  parameterCounts,
  parseBertConfig,
  type BertConfig,
} from '@ner-launch/trainer';
import { randomBatch } from './model-throughput.js';

interface Shape {
  layers: number;
  hidden: number;
  heads: number;
  intermediate: number;
  batch: number;
  seq: number;
}

const SHAPES: Shape[] = [
  { layers: 1, hidden: 64, heads: 2, intermediate: 128, batch: 2, seq: 16 },
  { layers: 2, hidden: 64, heads: 4, intermediate: 256, batch: 4, seq: 32 },
  { layers: 3, hidden: 128, heads: 4, intermediate: 256, batch: 2, seq: 64 },
  { layers: 2, hidden: 128, heads: 2, intermediate: 512, batch: 4, seq: 16 },
  { layers: 1, hidden: 96, heads: 8, intermediate: 128, batch: 2, seq: 96 },
  { layers: 2, hidden: 32, heads: 4, intermediate: 64, batch: 8, seq: 64 },
  { layers: 3, hidden: 64, heads: 2, intermediate: 512, batch: 3, seq: 24 },
  { layers: 1, hidden: 192, heads: 3, intermediate: 384, batch: 4, seq: 48 },
];

function configOf(s: Shape): BertConfig {
  return parseBertConfig(
    {
      vocab_size: 300,
      hidden_size: s.hidden,
      num_hidden_layers: s.layers,
      num_attention_heads: s.heads,
      intermediate_size: s.intermediate,
      max_position_embeddings: 128,
      num_labels: 5,
    },
    'calibration',
  );
}

type Kind = 'train' | 'recompute' | 'eval';

async function measure(s: Shape, kind: Kind): Promise<number> {
  const config = configOf(s);
  const model = BertForTokenClassification.fromStateDict(config, new Map(), { seed: 1 });
  const host = randomBatch(s.batch, s.seq, config.vocabSize, 5);
  const profile = await tf.profile(() => {
    if (kind === 'eval') forwardLogitsInMicroBatches(model, host, s.batch);
    else
      computeStepGradients(
        model,
        host,
        { microBatchSize: s.batch, recompute: kind === 'recompute' },
        { training: true },
      );
  });
  model.dispose();
  return profile.peakBytes;
}

/** Solves min |Ax - b| by the normal equations (tiny systems). */
function leastSquares(a: number[][], b: number[]): number[] {
  const n = a[0]!.length;
  const m = Array.from({ length: n }, (_, i) => [
    ...Array.from({ length: n }, (_, j) => a.reduce((sum, row) => sum + row[i]! * row[j]!, 0)),
    a.reduce((sum, row, k) => sum + row[i]! * b[k]!, 0),
  ]);
  for (let col = 0; col < n; col++) {
    let pivot = col;
    for (let r = col + 1; r < n; r++)
      if (Math.abs(m[r]![col]!) > Math.abs(m[pivot]![col]!)) pivot = r;
    [m[col], m[pivot]] = [m[pivot]!, m[col]!];
    for (let r = 0; r < n; r++) {
      if (r === col) continue;
      const f = m[r]![col]! / m[col]![col]!;
      for (let c = col; c <= n; c++) m[r]![c]! -= f * m[col]![c]!;
    }
  }
  return m.map((row, i) => row[n]! / row[i]!);
}

await initBackend('wasm');
for (const kind of ['train', 'recompute', 'eval'] as Kind[]) {
  const rows: number[][] = [];
  const targets: number[] = [];
  const report: string[] = [];
  for (const s of SHAPES) {
    const config = configOf(s);
    const peak = await measure(s, kind);
    const tokens = s.batch * s.seq;
    const live = kind === 'recompute' ? 1 : s.layers;
    const { total, perLayerWeights } = parameterCounts(config);
    const stored = kind === 'recompute' ? (s.layers + 2) * tokens * s.hidden * 4 : 0;
    rows.push([
      live * tokens * s.hidden,
      live * tokens * s.intermediate,
      live * s.batch * s.heads * s.seq * s.seq,
      live * perLayerWeights,
      ...(kind === 'recompute' ? [] : [tokens * s.hidden]),
    ]);
    targets.push(peak - total * 4 - stored);
    const estimate = estimateMemory(config, {
      rows: s.batch,
      seqLen: s.seq,
      mode: kind === 'eval' ? 'eval' : 'train',
      recompute: kind === 'recompute',
    });
    const tensorEstimate =
      estimate.parameterBytes + estimate.weightWorkBytes + estimate.activationBytes;
    report.push(
      `${JSON.stringify(s)} peak ${peak} estimate(tensors) ${tensorEstimate.toFixed(0)} ratio ${(tensorEstimate / peak).toFixed(3)}`,
    );
  }
  const fit = leastSquares(rows, targets);
  process.stdout.write(
    `${kind}: bytes per tokenHidden ${fit[0]!.toFixed(1)}, tokenIntermediate ${fit[1]!.toFixed(1)}, attention ${fit[2]!.toFixed(1)}, weight ${fit[3]!.toFixed(1)}, nonLayer tokenHidden ${fit[4]?.toFixed(1) ?? '-'}\n  ${report.join('\n  ')}\n`,
  );
}
