/**
 * One backend's side of bench/engine-step.ts, in its own process (so the peak RSS is this
 * case's): a randomly initialised BERT token classifier trained through the trainer's engine
 * (TfjsEngine, as `ner-launch train` runs it: memory plan, length-grouped slices, gradients and
 * AdamW where the backend's profile puts them, dropout on). One untimed full step, then timed
 * full steps (forward + backward + clip + AdamW). Prints one JSON line.
 *   node --import tsx bench/engine-step-worker.ts --backend tensorflow --layers 12 --hidden 768 \
 *     --heads 12 --intermediate 3072 --vocab 50105 --labels 13 --batch 16 --seq 128 --repeats 2
 */
import { cpus } from 'node:os';
import {
  BatchPlanner,
  BertForTokenClassification,
  initBackendProfile,
  parseBertConfig,
  TfjsEngine,
  type BackendName,
} from '@ner-launch/trainer';
import { randomBatch } from './model-throughput.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : fallback;
}
const num = (name: string, fallback: number) => Number(arg(name, String(fallback)));

const threads = num('threads', cpus().length);
const profile = await initBackendProfile(arg('backend', 'tensorflow') as BackendName, { threads });
const labels = num('labels', 13);
const batch = num('batch', 16);
const seq = num('seq', 128);
const config = parseBertConfig(
  {
    vocab_size: num('vocab', 50105),
    hidden_size: num('hidden', 768),
    num_hidden_layers: num('layers', 12),
    num_attention_heads: num('heads', 12),
    intermediate_size: num('intermediate', 3072),
    max_position_embeddings: Math.max(512, seq),
    num_labels: labels,
  },
  'bench (random config)',
);
const plan = new BatchPlanner({ config, backend: profile.name, localWorldSize: 1 }).plan(
  'train',
  batch,
  seq,
);
const model = BertForTokenClassification.fromStateDict(config, new Map(), { seed: 1 });
const engine = new TfjsEngine(model, profile, [
  { params: model.trainableNames(), lr: 2e-5, weightDecay: 0.01 },
]);
const host = randomBatch(batch, seq, config.vocabSize, labels);
const step = () => {
  engine.zeroGradients();
  const { loss } = engine.accumulate(host, {
    lossNormalizer: host.labelledCount,
    execution: { microBatchSize: plan.microBatchSize, recompute: plan.recompute },
  });
  engine.clipGradNorm(1.0);
  engine.optimizerStep([2e-5]);
  return loss;
};
// One untimed full step (kernel set-up, allocator growth, AdamW state), as the torch side does.
step();
const seconds: number[] = [];
for (let r = 0; r < num('repeats', 2); r++) {
  const start = performance.now();
  step();
  seconds.push((performance.now() - start) / 1000);
}
engine.dispose();
process.stdout.write(
  `${JSON.stringify({
    framework: `ner-launch ${profile.name}`,
    threads: profile.name === 'wasm' ? 1 : threads,
    mode: 'train',
    optimizer: 'adamw',
    batch,
    seq,
    plan: { microBatchSize: plan.microBatchSize, recompute: plan.recompute },
    seconds,
    tokensPerSecond: (batch * seq) / Math.min(...seconds),
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
  })}\n`,
);
