/**
 * Whole-model checks of CudaBertEngine against tools/cuda/torch_reference.py's output (HF PyTorch
 * on the same GPU, fp32, TF32 off, dropout off): eval logits, training loss and gradients, one
 * AdamW step from torch's gradients; and data parallelism: two processes on the same GPU, each
 * on half the batch, summed on the host (what the gRPC ring computes) == one process on it all.
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readSafetensors } from '@ner-launch/trainer';
import {
  CudaBertEngine,
  labelledCount,
  type EngineDevice,
  type CudaBertDims,
  type HiddenAct,
  type HostBatch,
  type Precision,
} from '@ner-launch/cuda';

interface Meta {
  device: string;
  batchSize: number;
  seqLen: number;
  loss: number;
  config: Record<string, number | string>;
  lr: number;
  betas: [number, number];
  eps: number;
  weightDecay: number;
  groups: [string[], string[]];
}

/** The reference's meta.json. */
export function readMeta(dir: string): Meta {
  return JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as Meta;
}

/** The engine's dimensions for the reference model, dropout off. */
export function dimsOf(meta: Meta): CudaBertDims {
  const c = meta.config;
  return {
    vocabSize: Number(c.vocab_size),
    hiddenSize: Number(c.hidden_size),
    numLayers: Number(c.num_hidden_layers),
    numHeads: Number(c.num_attention_heads),
    intermediateSize: Number(c.intermediate_size),
    maxPositions: Number(c.max_position_embeddings),
    typeVocabSize: Number(c.type_vocab_size),
    numLabels: Number(c.num_labels),
    layerNormEps: Number(c.layer_norm_eps),
    hiddenAct: String(c.hidden_act) as HiddenAct,
    hiddenDropout: 0,
    attentionDropout: 0,
    classifierDropout: null,
  };
}

function int32File(path: string): Int32Array {
  const bytes = readFileSync(path);
  return new Int32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4).slice();
}

/** The reference batch, or rows [from, to) of it. */
export function readBatch(dir: string, meta: Meta, rows?: [number, number]): HostBatch {
  const [from, to] = rows ?? [0, meta.batchSize];
  const t = meta.seqLen;
  const slice = (a: Int32Array) => a.slice(from * t, to * t);
  return {
    batchSize: to - from,
    seqLen: t,
    inputIds: slice(int32File(join(dir, 'ids.i32'))),
    attentionMask: slice(int32File(join(dir, 'mask.i32'))),
    labels: slice(int32File(join(dir, 'labels.i32'))),
  };
}

/** An engine holding the reference's initial weights. */
export async function referenceEngine(
  dir: string,
  precision: Precision,
  on?: EngineDevice,
): Promise<CudaBertEngine> {
  const meta = readMeta(dir);
  const { tensors } = await readSafetensors(join(dir, 'model.safetensors'));
  const options = {
    dims: dimsOf(meta),
    weights: tensors,
    precision,
    seed: 1,
    paramGroups: [
      { params: meta.groups[0], weightDecay: meta.weightDecay },
      { params: meta.groups[1], weightDecay: 0 },
    ],
  };
  return on ? CudaBertEngine.onDevice(options, on) : CudaBertEngine.create(options);
}

function maxAbs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < b.length; i++)
    worst = Math.max(worst, Number.isFinite(a[i]!) ? Math.abs(a[i]! - b[i]!) : Infinity);
  return worst;
}

function maxOf(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}

/** Logits, loss, gradients and one AdamW step against PyTorch at `precision` (thresholds for fp32). */
export async function parityCheck(
  dir: string,
  precision: Precision,
  on?: EngineDevice,
): Promise<Record<string, unknown>> {
  const meta = readMeta(dir);
  const engine = await referenceEngine(dir, precision, on);
  try {
    const batch = readBatch(dir, meta);
    const logitsBytes = readFileSync(join(dir, 'logits.f32'));
    const expectedLogits = new Float32Array(
      logitsBytes.buffer,
      logitsBytes.byteOffset,
      logitsBytes.byteLength / 4,
    );
    const logitsMaxAbs = maxAbs(engine.logits(batch), expectedLogits);
    const { loss } = engine.accumulateGradients(batch, {
      lossNormalizer: labelledCount(batch),
      training: true,
    });
    const torchGrads = (await readSafetensors(join(dir, 'grads.safetensors'))).tensors;
    const ours = engine.readGradients();
    // Relative to the tensor's largest gradient, floored at 1e-3 of the model's largest: some
    // gradients are 0 in exact arithmetic (the key bias: softmax ignores per-row constants), and
    // torch's 1e-12 noise there is no scale to measure against.
    const largest = Math.max(...[...torchGrads.values()].map((t) => maxOf(t.data)));
    let worst = { name: '', relativeError: 0, maxAbs: 0 };
    for (const [name, tensor] of torchGrads) {
      const err = maxAbs(ours.get(name)!, tensor.data);
      const relative = err / Math.max(maxOf(tensor.data), 1e-3 * largest);
      if (relative > worst.relativeError) worst = { name, relativeError: relative, maxAbs: err };
    }
    // The AdamW step on its own: torch's gradients in, torch's updated parameters out.
    engine.writeGradients(new Map([...torchGrads].map(([name, t]) => [name, t.data])));
    engine.adamwStep([meta.lr, meta.lr], meta.betas, meta.eps);
    const after = (await readSafetensors(join(dir, 'after_adamw.safetensors'))).tensors;
    const state = engine.stateDict();
    let adamwMaxAbs = 0;
    for (const [name, tensor] of after)
      adamwMaxAbs = Math.max(adamwMaxAbs, maxAbs(state.get(name)!.data, tensor.data));
    const strict = precision === 'fp32';
    return {
      precision,
      against: `HF PyTorch on ${meta.device}`,
      shape: `${meta.batchSize}x${meta.seqLen}`,
      logitsMaxAbs,
      logitsPass: !strict || logitsMaxAbs <= 1e-4,
      loss,
      torchLoss: meta.loss,
      lossRelative: Math.abs(loss - meta.loss) / meta.loss,
      worstGradient: worst,
      gradientsPass: !strict || worst.relativeError <= 1e-3,
      adamwMaxAbs,
      adamwPass: adamwMaxAbs <= 1e-5,
    };
  } finally {
    engine.dispose();
  }
}

/** A child of ddpCheck: gradients of rows [from, to) normalised by the whole batch's count, to `out`. */
export async function ddpChild(dir: string, from: number, to: number, out: string): Promise<void> {
  const meta = readMeta(dir);
  const engine = await referenceEngine(dir, 'fp32');
  try {
    const all = labelledCount(readBatch(dir, meta));
    const { loss } = engine.accumulateGradients(readBatch(dir, meta, [from, to]), {
      lossNormalizer: all,
      training: true,
    });
    const grads = engine.readGradients();
    const flat = new Float32Array([...grads.values()].reduce((n, g) => n + g.length, 0));
    let at = 0;
    for (const g of grads.values()) {
      flat.set(g, at);
      at += g.length;
    }
    writeFileSync(out, Buffer.from(flat.buffer));
    writeFileSync(`${out}.json`, JSON.stringify({ loss, names: [...grads.keys()] }));
  } finally {
    engine.dispose();
  }
}

/** Two processes sharing the GPU, each on half the batch, summed == one process on the whole batch. */
export async function ddpCheck(
  dir: string,
  bundle: string,
  workDir: string,
): Promise<Record<string, unknown>> {
  const meta = readMeta(dir);
  const half = Math.floor(meta.batchSize / 2);
  const ranges: [number, number][] = [
    [0, half],
    [half, meta.batchSize],
  ];
  const outs = ranges.map((_, rank) => join(workDir, `ddp-rank${rank}.f32`));
  await Promise.all(
    ranges.map(
      ([from, to], rank) =>
        new Promise<void>((resolve, reject) => {
          const child = spawn(
            process.execPath,
            [bundle, '--ddp-child', dir, String(from), String(to), outs[rank]!],
            { stdio: ['ignore', 'inherit', 'inherit'] },
          );
          child.on('exit', (code) =>
            code === 0 ? resolve() : reject(new Error(`ddp rank ${rank} exited ${code}`)),
          );
        }),
    ),
  );
  const parts = outs.map((path) => {
    const bytes = readFileSync(path);
    return {
      grads: new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4),
      loss: (JSON.parse(readFileSync(`${path}.json`, 'utf8')) as { loss: number }).loss,
    };
  });
  const engine = await referenceEngine(dir, 'fp32');
  try {
    const batch = readBatch(dir, meta);
    const { loss } = engine.accumulateGradients(batch, {
      lossNormalizer: labelledCount(batch),
      training: true,
    });
    const whole = [...engine.readGradients().values()];
    const flat = new Float32Array(whole.reduce((n, g) => n + g.length, 0));
    let at = 0;
    for (const g of whole) {
      flat.set(g, at);
      at += g.length;
    }
    const summed = flat.map((_, i) => parts[0]!.grads[i]! + parts[1]!.grads[i]!);
    const gradientMaxAbs = maxAbs(summed, flat);
    const relative = gradientMaxAbs / maxOf(flat);
    const lossDifference = Math.abs(parts[0]!.loss + parts[1]!.loss - loss);
    return {
      processes: 2,
      shape: `${meta.batchSize}x${meta.seqLen}`,
      gradientMaxAbs,
      gradientRelative: relative,
      lossDifference,
      pass: relative <= 1e-4 && lossDifference <= 1e-5 * loss,
    };
  } finally {
    engine.dispose();
  }
}
