/**
 * Training-step throughput of CudaBertEngine on bert-base with FinBERT's vocabulary and 13 labels,
 * the same batch construction and optimizer settings as tools/cuda/torch_bench.py: forward +
 * backward, clip_grad_norm_(1.0), AdamW (lr 2e-5, weight decay 0.01), zero_grad.
 */
import {
  CudaBertEngine,
  parameterShapes,
  labelledCount,
  type CudaBertDims,
  type HostBatch,
  type Precision,
} from '@ner-launch/cuda';

/** bert-base, FinBERT vocabulary, 13 labels, HF's default dropout. */
export const BENCH_DIMS: CudaBertDims = {
  vocabSize: 50105,
  hiddenSize: 768,
  numLayers: 12,
  numHeads: 12,
  intermediateSize: 3072,
  maxPositions: 512,
  typeVocabSize: 2,
  numLabels: 13,
  layerNormEps: 1e-12,
  hiddenAct: 'gelu',
  hiddenDropout: 0.1,
  attentionDropout: 0.1,
  classifierDropout: null,
};

function benchBatch(b: number, t: number): HostBatch {
  let state = 12345;
  const next = (n: number) => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state % n;
  };
  const batch: HostBatch = {
    batchSize: b,
    seqLen: t,
    inputIds: new Int32Array(b * t),
    attentionMask: new Int32Array(b * t).fill(1),
    labels: new Int32Array(b * t),
  };
  for (let i = 0; i < b * t; i++) {
    const padded = i >= (b - 1) * t + Math.floor(t * 0.6);
    batch.attentionMask[i] = padded ? 0 : 1;
    batch.inputIds[i] = padded ? 0 : 5 + next(BENCH_DIMS.vocabSize - 5);
    batch.labels[i] = padded || i % t === 0 ? -100 : next(13);
  }
  return batch;
}

function randomWeights(): Map<string, { shape: number[]; data: Float32Array }> {
  let state = 1;
  const weights = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [name, shape] of parameterShapes(BENCH_DIMS)) {
    const size = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(size);
    if (name.includes('LayerNorm.weight')) data.fill(1);
    else if (!name.endsWith('.bias'))
      for (let i = 0; i < size; i++) {
        state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
        data[i] = (state / 2 ** 32 - 0.5) * 0.07;
      }
    weights.set(name, { shape, data });
  }
  return weights;
}

/** step ms and tokens/s per shape and precision. */
export function throughput(
  shapes: string[],
  precisions: Precision[],
  steps: number,
  warmup: number,
): Record<string, unknown>[] {
  const weights = randomWeights();
  const names = [...weights.keys()];
  const noDecay = names.filter((n) => n.endsWith('.bias') || n.includes('LayerNorm'));
  const paramGroups = [
    { params: names.filter((n) => !noDecay.includes(n)), weightDecay: 0.01 },
    { params: noDecay, weightDecay: 0 },
  ];
  const results: Record<string, unknown>[] = [];
  for (const shape of shapes) {
    const [b, t] = shape.split('x').map(Number) as [number, number];
    const batch = benchBatch(b, t);
    const count = labelledCount(batch);
    for (const precision of precisions) {
      const engine = CudaBertEngine.create({
        dims: BENCH_DIMS,
        weights,
        precision,
        seed: 1,
        paramGroups,
        maxTokens: b * t,
      });
      try {
        const step = () => {
          engine.accumulateGradients(batch, { lossNormalizer: count, training: true });
          engine.clipGradNorm(1.0);
          engine.adamwStep([2e-5, 2e-5], [0.9, 0.999], 1e-8);
          engine.zeroGradients();
        };
        for (let i = 0; i < warmup; i++) step();
        const start = performance.now();
        for (let i = 0; i < steps; i++) step();
        const ms = (performance.now() - start) / steps;
        results.push({
          mode: precision,
          shape,
          step_ms: ms,
          tokens_per_second: (b * t) / (ms / 1000),
        });
      } catch (error) {
        results.push({ mode: precision, shape, error: String(error) });
      } finally {
        engine.dispose();
      }
    }
  }
  return results;
}
