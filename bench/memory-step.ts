/**
 * One measured training step (issue 7), in this process: builds a randomly initialised BERT
 * token classifier, plans memory for the requested batch, runs forward + backward (micro-batched
 * / recomputed as planned) and an AdamW step, and prints one JSON line: the plan's estimate,
 * the measured peak tensor bytes (tf.profile), the wasm heap size, peak RSS and seconds.
 *   node --import tsx bench/memory-step.ts --layers 12 --hidden 768 --heads 12 \
 *     --intermediate 3072 --vocab 50105 --labels 13 --batch 16 --seq 128 [--micro N]
 *     [--recompute on|off] [--limit-mb M] [--no-optimizer] [--mode train|forward] [--max-slices K]
 *     [--world-size W] [--out NAME]   (--out also writes bench/results/NAME.json with machine info)
 * --world-size is how many such processes share the machine's memory (the plan divides it).
 * A forward pass of one short sentence runs before the timed step, so XNNPACK set-up and JIT
 * warm-up are not in its seconds.
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  AdamW,
  BertForTokenClassification,
  initBackend,
  parseBertConfig,
  planMemory,
  computeStepGradients,
  forwardLogitsInMicroBatches,
  wasmHeapBytes,
  withHeapGuard,
} from '@ner-launch/trainer';
import { randomBatch, writeResult } from './model-throughput.js';

function arg(name: string, fallback?: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}
const num = (name: string, fallback: number) => Number(arg(name, String(fallback)));

async function main(): Promise<void> {
  const backend = await initBackend('wasm');
  const labels = num('labels', 13);
  const config = parseBertConfig(
    {
      vocab_size: num('vocab', 50105),
      hidden_size: num('hidden', 768),
      num_hidden_layers: num('layers', 12),
      num_attention_heads: num('heads', 12),
      intermediate_size: num('intermediate', 3072),
      max_position_embeddings: Math.max(512, num('seq', 128)),
      num_labels: labels,
    },
    'bench/memory-step (random config)',
  );
  const batchSize = num('batch', 16);
  const seqLen = num('seq', 128);
  const mode = arg('mode', 'train') as 'train' | 'forward';
  const limitMb = arg('limit-mb');
  const plan = planMemory({
    config,
    batchSize,
    seqLen,
    backend,
    worldSize: num('world-size', 1),
    mode: mode === 'train' ? 'train' : 'eval',
    limitBytes: limitMb ? Number(limitMb) * 2 ** 20 : undefined,
    microBatchSize: arg('micro') ? num('micro', batchSize) : undefined,
    recompute: arg('recompute') as 'on' | 'off' | undefined,
  });
  // Printed before the step so that a step that dies (heap exhaustion) leaves its plan in the log.
  process.stderr.write(
    `plan: ${plan.microBatchSize} sentence(s) at a time, recompute ${plan.recompute ? 'on' : 'off'}, estimate ${plan.estimateBytes} B of ${plan.limitBytes} B\n`,
  );
  const started = performance.now();
  const model = BertForTokenClassification.fromStateDict(config, new Map(), { seed: 1 });
  const heapAfterParameters = wasmHeapBytes();
  forwardLogitsInMicroBatches(model, randomBatch(1, 16, config.vocabSize, labels), 1);
  const host = randomBatch(batchSize, seqLen, config.vocabSize, labels);
  const optimizer = new AdamW([{ params: model.trainableNames(), lr: 2e-5, weightDecay: 0.01 }]);
  const stepStart = performance.now();
  let slicesRun = 0;
  const profile = await tf.profile(() =>
    withHeapGuard({ step: 1, batchShape: [batchSize, seqLen], plan }, () => {
      if (mode === 'forward') {
        forwardLogitsInMicroBatches(model, host, plan.microBatchSize);
        return;
      }
      const { gradients } = computeStepGradients(model, host, plan, {
        training: true,
        maxSlices: arg('max-slices') ? num('max-slices', 1) : undefined,
        onSlice: (done, total) => {
          slicesRun = done;
          process.stderr.write(
            `slice ${done}/${total} at ${((performance.now() - stepStart) / 1000).toFixed(0)} s, heap ${wasmHeapBytes()} B\n`,
          );
        },
      });
      if (!process.argv.includes('--no-optimizer')) optimizer.step(gradients, model.parameters);
    }),
  );
  const stepSeconds = (performance.now() - stepStart) / 1000;
  const result = {
    config: {
      layers: config.numHiddenLayers,
      hidden: config.hiddenSize,
      heads: config.numAttentionHeads,
      intermediate: config.intermediateSize,
      vocab: config.vocabSize,
      labels,
    },
    batchSize,
    seqLen,
    mode,
    plan: {
      microBatchSize: plan.microBatchSize,
      recompute: plan.recompute,
      estimateBytes: plan.estimateBytes,
      limitBytes: plan.limitBytes,
    },
    parameterBytes: model.parameters
      .names()
      .reduce((sum, n) => sum + model.parameters.size(n) * 4, 0),
    heapAfterParametersBytes: heapAfterParameters,
    peakTensorBytes: profile.peakBytes,
    heapBytes: wasmHeapBytes(),
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
    stepSeconds,
    totalSeconds: (performance.now() - started) / 1000,
    tokensPerSecond:
      (batchSize * seqLen * (mode === 'train' ? slicesRun / plan.accumulationSteps : 1)) /
      stepSeconds,
  };
  model.dispose();
  process.stdout.write(`${JSON.stringify(result)}\n`);
  const out = arg('out');
  if (out)
    await writeResult(out, {
      description: 'one bert training step as memory-planned (bench/memory-step.ts)',
      command: process.argv.slice(2).join(' '),
      ...result,
    });
}

await main();
