/**
 * A tiny MLP classifier in plain TypeScript (float32 parameters, exact hand-written
 * gradients) trained data-parallel through the Accelerator API: the model of the DDP
 * equivalence test (test/train/ddp-equivalence.test.ts), small enough to train 50 steps in
 * milliseconds on any number of workers.
 */
import { mulberry32 } from '@ner-launch/common';
import type { Accelerator } from '@ner-launch/worker';

const INPUT = 6;
const HIDDEN = 10;
const CLASSES = 3;
/** Size of the synthetic data set. */
export const DATASET_SIZE = 64;

/** Deterministic synthetic data: features in [-1, 1), label from a fixed rule. */
export function syntheticData(): { x: Float32Array[]; y: number[] } {
  const random = mulberry32(2024);
  const x = Array.from({ length: DATASET_SIZE }, () =>
    new Float32Array(INPUT).map(() => random() * 2 - 1),
  );
  const y = x.map((v) => (v[0] + v[1] * v[2] > 0.2 ? 0 : v[3] - v[4] > 0 ? 1 : 2));
  return { x, y };
}

/** Parameters by name, in a fixed order shared by all ranks. */
export function initParams(seed: number): Map<string, Float32Array> {
  const random = mulberry32(seed);
  const init = (n: number, scale: number) =>
    new Float32Array(n).map(() => (random() * 2 - 1) * scale);
  return new Map([
    ['w1', init(HIDDEN * INPUT, 0.5)],
    ['b1', init(HIDDEN, 0.1)],
    ['w2', init(CLASSES * HIDDEN, 0.5)],
    ['b2', init(CLASSES, 0.1)],
  ]);
}

/** Mean cross-entropy of the batch. */
export function loss(params: Map<string, Float32Array>, xs: Float32Array[], ys: number[]): number {
  const w1 = params.get('w1')!;
  const b1 = params.get('b1')!;
  const w2 = params.get('w2')!;
  const b2 = params.get('b2')!;
  let total = 0;
  xs.forEach((x, s) => {
    const h = Array.from({ length: HIDDEN }, (_, j) =>
      Math.tanh(x.reduce((z, xi, i) => z + w1[j * INPUT + i] * xi, b1[j])),
    );
    const logits = Array.from({ length: CLASSES }, (_, c) =>
      h.reduce((z, hj, j) => z + w2[c * HIDDEN + j] * hj, b2[c]),
    );
    const max = Math.max(...logits);
    const logSum = Math.log(logits.reduce((a, z) => a + Math.exp(z - max), 0)) + max;
    total += logSum - logits[ys[s]];
  });
  return total / xs.length;
}

/** Mean cross-entropy gradients over the batch (float64 accumulation, float32 result). */
export function gradients(
  params: Map<string, Float32Array>,
  xs: Float32Array[],
  ys: number[],
): Map<string, Float32Array> {
  const w1 = params.get('w1')!;
  const b1 = params.get('b1')!;
  const w2 = params.get('w2')!;
  const b2 = params.get('b2')!;
  const g = {
    w1: new Float64Array(w1.length),
    b1: new Float64Array(b1.length),
    w2: new Float64Array(w2.length),
    b2: new Float64Array(b2.length),
  };
  for (let s = 0; s < xs.length; s++) {
    const x = xs[s];
    const h = new Float64Array(HIDDEN);
    for (let j = 0; j < HIDDEN; j++) {
      let z = b1[j];
      for (let i = 0; i < INPUT; i++) z += w1[j * INPUT + i] * x[i];
      h[j] = Math.tanh(z);
    }
    const logits = new Float64Array(CLASSES);
    for (let c = 0; c < CLASSES; c++) {
      let z = b2[c];
      for (let j = 0; j < HIDDEN; j++) z += w2[c * HIDDEN + j] * h[j];
      logits[c] = z;
    }
    const max = Math.max(...logits);
    const exp = logits.map((z) => Math.exp(z - max));
    const total = exp.reduce((a, b) => a + b, 0);
    const dh = new Float64Array(HIDDEN);
    for (let c = 0; c < CLASSES; c++) {
      const d = exp[c] / total - (c === ys[s] ? 1 : 0);
      g.b2[c] += d;
      for (let j = 0; j < HIDDEN; j++) {
        g.w2[c * HIDDEN + j] += d * h[j];
        dh[j] += d * w2[c * HIDDEN + j];
      }
    }
    for (let j = 0; j < HIDDEN; j++) {
      const dz = dh[j] * (1 - h[j] * h[j]);
      g.b1[j] += dz;
      for (let i = 0; i < INPUT; i++) g.w1[j * INPUT + i] += dz * x[i];
    }
  }
  const n = xs.length;
  return new Map(Object.entries(g).map(([k, v]) => [k, Float32Array.from(v, (e) => e / n)]));
}

/** Trains `steps` SGD steps (lr 0.5, clip 1.0) at `batchSize` per worker; returns snapshots after the given steps. */
export async function trainTinyMlp(
  acc: Accelerator,
  batchSize: number,
  steps: number,
  snapshotAfter: number[],
): Promise<Record<number, number[]>> {
  acc.setSeed(7);
  const { x, y } = syntheticData();
  // Rank 0 initialises; the broadcast makes every rank start from its exact bits.
  const params = initParams(acc.isMainProcess ? 99 : 12345);
  for (const p of params.values()) await acc.group.broadcast(p, 0);
  const sampler = acc.prepare({ datasetLength: DATASET_SIZE, batchSize });
  const snapshots: Record<number, number[]> = {};
  let step = 0;
  for (let epoch = 0; step < steps; epoch++) {
    for (const batch of sampler.batches(epoch)) {
      if (step === steps) break;
      const grads = gradients(
        params,
        batch.indices.map((i) => x[i]),
        batch.indices.map((i) => y[i]),
      );
      await acc.reduceGradients(grads);
      acc.clipGradNorm(grads, 1.0);
      for (const [name, p] of params) {
        const g = grads.get(name)!;
        for (let i = 0; i < p.length; i++) p[i] -= 0.5 * g[i];
      }
      step++;
      if (snapshotAfter.includes(step))
        snapshots[step] = [...params.values()].flatMap((p) => [...p]);
    }
  }
  return snapshots;
}
