/**
 * The JS half of the GPU check (tools/gpu/check.sh runs it on the GPU machine as a bundle):
 *   --record FILE         compute the parity expectations on this backend (cpu, here) and write them
 *   --parity FILE         (a) logits/gradient parity of --backend against FILE
 *   --kernels             (b) each fused kernel against its float64 reference, then timed
 *   --throughput SHAPES   (c) bert-base (FinBERT vocab) training steps, e.g. 16x128,16x512
 * Results go to --out DIR as gpu-check.json; progress lines go to stderr.
 */
import * as tf from '@tensorflow/tfjs-core';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import {
  AdamW,
  BertForTokenClassification,
  fusedAdamWWebgpu,
  initBackend,
  parseBertConfig,
  tokenClassificationLoss,
  registerTiledMatmul,
  relativeError,
  runKernelChecks,
  type BackendName,
  type ErrorScopeDevice,
  type KernelCheckResult,
} from '@ner-launch/trainer';

const { values: args } = parseArgs({
  // Explicit: check.sh starts the bundle through `node -e` with a stand-in argv[1].
  args: process.argv.slice(2),
  options: {
    backend: { type: 'string', default: 'webgpu' },
    out: { type: 'string', default: 'gpu-check-out' },
    record: { type: 'string' },
    parity: { type: 'string' },
    kernels: { type: 'boolean', default: false },
    'kernel-bench': { type: 'boolean', default: false },
    throughput: { type: 'string' },
    steps: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '2' },
    tiny: { type: 'boolean', default: false },
    'tiled-matmul': { type: 'boolean', default: false },
  },
});

function say(line: string): void {
  process.stderr.write(`[gpu-check] ${line}\n`);
}

/** FinBERT (TurkuNLP bert-base-finnish-cased-v1) shape; Turku NER has 13 BIO labels. */
function bertConfig(tiny: boolean, numLabels: number) {
  const labels = Array.from({ length: numLabels }, (_, i) => `L${i}`);
  const raw = tiny
    ? {
        vocab_size: 1000,
        hidden_size: 64,
        num_hidden_layers: 2,
        num_attention_heads: 4,
        intermediate_size: 128,
        max_position_embeddings: 512,
      }
    : {
        vocab_size: 50105,
        hidden_size: 768,
        num_hidden_layers: 12,
        num_attention_heads: 12,
        intermediate_size: 3072,
        max_position_embeddings: 512,
      };
  return parseBertConfig(
    {
      ...raw,
      hidden_act: 'gelu',
      type_vocab_size: 2,
      layer_norm_eps: 1e-12,
      hidden_dropout_prob: 0.1,
      attention_probs_dropout_prob: 0.1,
      initializer_range: 0.02,
      id2label: Object.fromEntries(labels.map((l, i) => [String(i), l])),
      label2id: Object.fromEntries(labels.map((l, i) => [l, i])),
    },
    'gpu-check config',
  );
}

/** A deterministic batch: ids from an LCG, the last sentence padded, some labels ignored. */
function batch(b: number, t: number, vocab: number, numLabels: number) {
  let s = 12345;
  const next = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0);
  const ids = new Int32Array(b * t);
  const mask = new Int32Array(b * t);
  const labels = new Int32Array(b * t);
  for (let i = 0; i < b * t; i++) {
    const pos = i % t;
    const real = Math.floor(i / t) < b - 1 || pos < Math.floor(t * 0.6);
    ids[i] = real ? 5 + (next() % (vocab - 5)) : 0;
    mask[i] = real ? 1 : 0;
    labels[i] = real && pos > 0 ? next() % numLabels : -100;
  }
  return {
    inputIds: tf.tensor2d(ids, [b, t], 'int32'),
    attentionMask: tf.tensor2d(mask, [b, t], 'int32'),
    labels: tf.tensor2d(labels, [b, t], 'int32'),
  };
}

interface ParityRecord {
  backend: string;
  logits: number[];
  loss: number;
  gradients: Record<string, number[]>;
}

type Model = ReturnType<typeof BertForTokenClassification.fromStateDict>;

/**
 * Loss and dense gradients of every trainable parameter, read back asynchronously: tfjs's
 * WebGPU backend cannot read synchronously in Node (its readSync needs OffscreenCanvas), so
 * the product's computeGradients (dataSync) does not run there yet. Inputs are made fresh per
 * call because the model's input checks read them synchronously (fine while still on the host).
 */
function lossAndGrads(model: Model, b: number, t: number, numLabels: number, training: boolean) {
  const inputs = batch(b, t, model.config.vocabSize, numLabels);
  // wasm has no UnsortedSegmentSum (the gather gradient): no dense word-embedding gradient there.
  const names = model
    .trainableNames()
    .filter((n) => tf.getBackend() !== 'wasm' || n !== 'bert.embeddings.word_embeddings.weight');
  const xs = names.map((n) => model.parameters.get(n));
  const { value, grads } = tf.engine().gradients(() => {
    const { logits } = model.forward(inputs.inputIds, inputs.attentionMask, undefined, {
      training,
    });
    return tokenClassificationLoss(logits, inputs.labels);
  }, xs);
  tf.dispose(Object.values(inputs));
  return { loss: value, grads: names.map((n, i) => [n, grads[i]] as const) };
}

async function parityRun(): Promise<ParityRecord> {
  const config = bertConfig(true, 5);
  const model = BertForTokenClassification.fromStateDict(config, new Map(), { seed: 7 });
  const inputs = batch(2, 24, config.vocabSize, 5);
  const { logits } = model.forward(inputs.inputIds, inputs.attentionMask, undefined, {
    training: false,
  });
  const { loss, grads } = lossAndGrads(model, 2, 24, 5, false);
  const record: ParityRecord = {
    backend: tf.getBackend(),
    logits: [...((await logits.data()) as Float32Array)],
    loss: (await loss.data())[0],
    gradients: {},
  };
  for (const [name, g] of grads) record.gradients[name] = [...((await g.data()) as Float32Array)];
  tf.dispose([logits, loss, ...grads.map(([, g]) => g)]);
  model.parameters.dispose();
  return record;
}

function compareParity(expected: ParityRecord, got: ParityRecord) {
  let logitsMaxAbs = 0;
  expected.logits.forEach(
    (v, i) => (logitsMaxAbs = Math.max(logitsMaxAbs, Math.abs(v - got.logits[i]))),
  );
  // A gradient fails when both its normwise relative error > 1e-3 and its max abs error > 1e-6:
  // some are ~0 by symmetry (the attention key bias), where only the absolute error means anything.
  let worstGrad = { name: '', relativeError: -1, maxAbs: 0, pass: true };
  const skipped: string[] = [];
  for (const [name, want] of Object.entries(expected.gradients)) {
    const have = got.gradients[name];
    if (!have) {
      skipped.push(name);
      continue;
    }
    const e = relativeError(have, want);
    let maxAbs = 0;
    want.forEach((v, i) => (maxAbs = Math.max(maxAbs, Math.abs(v - have[i]))));
    const pass = e <= 1e-3 || maxAbs <= 1e-6;
    if ((!pass && worstGrad.pass) || (pass === worstGrad.pass && !(e <= worstGrad.relativeError)))
      worstGrad = { name, relativeError: e, maxAbs, pass };
  }
  return {
    against: expected.backend,
    logitsMaxAbs,
    logitsPass: logitsMaxAbs <= 1e-3,
    lossDiff: Math.abs(expected.loss - got.loss),
    worstGradient: worstGrad,
    gradientsPass: worstGrad.pass,
    gradientsNotComputed: skipped,
  };
}

async function throughput(shape: string, steps: number, warmup: number) {
  const [b, t] = shape.split('x').map(Number);
  if (!(b > 0 && t > 0)) throw new Error(`--throughput: '${shape}' is not BATCHxLENGTH`);
  const config = bertConfig(Boolean(args.tiny), 13);
  const model = BertForTokenClassification.fromStateDict(config, new Map(), { seed: 1 });
  const webgpu = tf.getBackend() === 'webgpu';
  const names = model.trainableNames();
  const n = names.reduce((sum, name) => sum + model.parameters.size(name), 0);
  // WebGPU: flat [params | m | v] buffers updated by the fused AdamW kernel (the model's own
  // tensors are not rewritten: this times the optimizer, it does not train), in chunks that fit
  // the device's storage-binding limit.
  const limit = webgpu
    ? (tf.backend() as unknown as { device: { limits: { maxStorageBufferBindingSize: number } } })
        .device.limits.maxStorageBufferBindingSize
    : 0;
  const chunk = webgpu ? Math.max(1, Math.floor(limit / 12)) : n;
  const chunks: [number, number][] = [];
  for (let start = 0; start < n; start += chunk) chunks.push([start, Math.min(chunk, n - start)]);
  let states = webgpu ? chunks.map(([, size]) => tf.zeros([3 * size]) as tf.Tensor1D) : [];
  const optimizer = new AdamW([{ params: names, lr: 2e-5, weightDecay: 0.01 }]);
  let stepNo = 0;
  const step = async (withOptimizer: boolean) => {
    if (!webgpu) {
      // Elsewhere the product's step: host gradients, host AdamW.
      const inputs = batch(b, t, config.vocabSize, 13);
      const { gradients } = model.computeGradients(inputs, { training: true });
      if (withOptimizer) optimizer.step(gradients, model.parameters);
      tf.dispose(Object.values(inputs));
      return;
    }
    const { loss, grads } = lossAndGrads(model, b, t, 13, true);
    if (withOptimizer) {
      const flat = tf.concat(grads.map(([, g]) => tf.reshape(g, [-1]))) as tf.Tensor1D;
      stepNo++;
      states = chunks.map(([start, size], c) => {
        const part = tf.slice(flat, start, size);
        const next = fusedAdamWWebgpu(states[c], part, {
          lr: 2e-5,
          weightDecay: 0.01,
          beta1: 0.9,
          beta2: 0.999,
          eps: 1e-8,
          step: stepNo,
          decayEnd: size,
        });
        tf.dispose([part, states[c]]);
        return next;
      });
      tf.dispose(flat);
    }
    await loss.data(); // waits for the GPU queue
    tf.dispose([loss, ...grads.map(([, g]) => g)]);
  };
  const time = async (withOptimizer: boolean) => {
    for (let i = 0; i < warmup; i++) await step(withOptimizer);
    const t0 = performance.now();
    for (let i = 0; i < steps; i++) await step(withOptimizer);
    return (performance.now() - t0) / steps;
  };
  const stepMs = await time(true);
  const fwdBwdMs = await time(false);
  tf.dispose(states);
  model.parameters.dispose();
  return {
    shape,
    batch: b,
    seqLen: t,
    tiny: Boolean(args.tiny),
    path: webgpu
      ? 'webgpu: async fwd+bwd, fused AdamW on a flat buffer'
      : 'product step: computeGradients + host AdamW',
    parameters: n,
    adamwChunks: chunks.length,
    stepMs,
    fwdBwdMs,
    tokensPerSecond: (b * t) / (stepMs / 1000),
  };
}

const out = args.out!;
mkdirSync(out, { recursive: true });
const backend = await initBackend(args.backend as BackendName);
say(`backend ${backend}`);
const report: Record<string, unknown> = { backend, date: new Date().toISOString() };
// Saved after every section, so a later crash (device lost, out of memory) keeps what ran.
const save = () =>
  writeFileSync(join(out, 'gpu-check.json'), `${JSON.stringify(report, null, 2)}\n`);

if (args['tiled-matmul']) report.tiledMatmul = registerTiledMatmul();

if (args.record) {
  const rec = await parityRun();
  writeFileSync(args.record, JSON.stringify(rec));
  say(`recorded parity expectations on ${backend} to ${args.record}`);
}

if (args.parity) {
  const expected = JSON.parse(readFileSync(args.parity, 'utf8')) as ParityRecord;
  report.parity = compareParity(expected, await parityRun());
  say(`parity ${JSON.stringify(report.parity)}`);
  save();
}

if (args.kernels || args['kernel-bench']) {
  const device =
    backend === 'webgpu'
      ? (tf.backend() as unknown as { device: ErrorScopeDevice }).device
      : undefined;
  if (!device) throw new Error('--kernels needs --backend webgpu');
  const print = (r: KernelCheckResult) =>
    say(
      `kernel ${r.kernel} ${r.shape} ${JSON.stringify(r.errors)} ${r.ms ? `${r.ms.toFixed(3)} ms ${r.rate.toFixed(2)} ${r.unit}` : ''} ${r.validationError ?? ''} ${r.error ?? ''}`,
    );
  if (args.kernels) {
    const checks = await runKernelChecks('small', { device, onResult: print });
    report.kernelChecks = checks.map((c) => ({
      ...c,
      pass: !c.validationError && !c.error && Object.values(c.errors).every((e) => e < 1e-5),
    }));
    save();
  }
  if (args['kernel-bench'])
    report.kernelBench = await runKernelChecks('bench', { device, onResult: print });
}

if (args.throughput) {
  const results = [];
  for (const shape of args.throughput.split(',')) {
    const r = await throughput(shape, Number(args.steps), Number(args.warmup));
    say(`throughput ${JSON.stringify(r)}`);
    results.push(r);
    report.throughput = results;
    save();
  }
  report.throughput = results;
}

save();
say(`wrote ${join(out, 'gpu-check.json')}`);
// Dawn keeps the event loop alive while a GPU object is referenced.
process.exit(0);
