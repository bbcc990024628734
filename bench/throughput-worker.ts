/**
 * The wasm side of one throughput case (run in its own process by bench/model-throughput.ts,
 * so the peak RSS is this case's): a randomly initialised BERT token classifier of the given
 * shape, the memory plan for the batch, then timed forward (eval, no tape) or forward +
 * backward (training, dropout on, as planned: micro-batches / recomputation). One JSON line.
 *   node --import tsx bench/throughput-worker.ts --layers 12 --hidden 768 --heads 12 \
 *     --intermediate 3072 --vocab 50105 --labels 13 --batch 16 --seq 128 --mode train --repeats 1
 */
import {
  BertForTokenClassification,
  computeStepGradients,
  forwardLogitsInMicroBatches,
  initBackend,
  parseBertConfig,
  planMemory,
  wasmHeapBytes,
} from '@ner-launch/trainer';
import { randomBatch } from './model-throughput.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const modeIndex = process.argv.indexOf('--mode');
const mode = modeIndex >= 0 ? process.argv[modeIndex + 1] : 'forward';
if (mode !== 'forward' && mode !== 'train')
  throw new Error(`--mode must be forward or train, got ${mode}`);
const backend = await initBackend('wasm');
const labels = arg('labels', 13);
const batch = arg('batch', 16);
const seq = arg('seq', 128);
const config = parseBertConfig(
  {
    vocab_size: arg('vocab', 50105),
    hidden_size: arg('hidden', 768),
    num_hidden_layers: arg('layers', 12),
    num_attention_heads: arg('heads', 12),
    intermediate_size: arg('intermediate', 3072),
    max_position_embeddings: Math.max(512, seq),
    num_labels: labels,
  },
  'bench (random config)',
);
const plan = planMemory({
  config,
  batchSize: batch,
  seqLen: seq,
  backend,
  worldSize: 1,
  mode: mode === 'train' ? 'train' : 'eval',
});
const model = BertForTokenClassification.fromStateDict(config, new Map(), { seed: 1 });
const host = randomBatch(batch, seq, config.vocabSize, labels);
const once = () =>
  mode === 'forward'
    ? forwardLogitsInMicroBatches(model, host, plan.microBatchSize)
    : computeStepGradients(model, host, plan, { training: true });
// Warm-up on one short sentence (XNNPACK set-up, JIT), then timed repeats at the full shape.
forwardLogitsInMicroBatches(model, randomBatch(1, 16, config.vocabSize, labels), 1);
const seconds: number[] = [];
for (let r = 0; r < arg('repeats', 1); r++) {
  const start = performance.now();
  once();
  seconds.push((performance.now() - start) / 1000);
}
model.dispose();
process.stdout.write(
  `${JSON.stringify({
    framework: 'ner-launch tfjs-wasm',
    threads: 1,
    mode,
    batch,
    seq,
    plan: {
      microBatchSize: plan.microBatchSize,
      recompute: plan.recompute,
      estimateBytes: plan.estimateBytes,
    },
    seconds,
    tokensPerSecond: (batch * seq) / Math.min(...seconds),
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
    heapBytes: wasmHeapBytes(),
  })}\n`,
);
