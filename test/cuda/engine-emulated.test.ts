/**
 * CudaBertEngine's orchestration (buffer plan, GEMM operand mapping, call order, dropout sites,
 * gradient accumulation, AdamW runs) on an emulated device in float64, against HF PyTorch on
 * the CPU (tools/cuda/torch_reference.py --tiny) and against finite differences with dropout on.
 * What this cannot check, the CUDA kernels' own code, the GPU check does (tools/cuda/check.sh).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { readSafetensors } from '@ner-launch/trainer';
import {
  CudaBertEngine,
  labelledCount,
  parameterShapes,
  type CudaParamGroup,
  type HostBatch,
  type HostWeights,
} from '@ner-launch/cuda';
import { runReference, skipWithoutPython } from '../support/python.js';
import { assertClose } from '../support/close.js';
import { TINY_DIMS } from '../support/cuda-dims.js';
import { emulatedDevice } from '../support/cuda-emulated-device.js';

const dir = mkdtempSync(join(tmpdir(), 'ner-cuda-emulated-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const ints = (file: string) => {
  const bytes = readFileSync(join(dir, file));
  return new Int32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4).slice();
};

interface Meta {
  batchSize: number;
  seqLen: number;
  loss: number;
  lr: number;
  betas: [number, number];
  eps: number;
  weightDecay: number;
  groups: [string[], string[]];
}

describe(
  'the engine on an emulated device matches HF PyTorch (tiny model, dropout off)',
  { skip: skipWithoutPython() },
  () => {
    let meta: Meta;
    let weights: HostWeights;
    let batch: HostBatch;
    let groups: CudaParamGroup[];
    const dims = { ...TINY_DIMS, hiddenDropout: 0, attentionDropout: 0 };
    const engine = () =>
      CudaBertEngine.onDevice(
        { dims, weights, precision: 'fp32', seed: 3, paramGroups: groups },
        emulatedDevice().device,
      );

    before(async () => {
      runReference('../cuda/torch_reference.py', [
        '--out',
        dir,
        '--tiny',
        '--device',
        'cpu',
        '--batch',
        '3',
        '--seq',
        '10',
      ]);
      meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as Meta;
      weights = (await readSafetensors(join(dir, 'model.safetensors'))).tensors;
      batch = {
        batchSize: meta.batchSize,
        seqLen: meta.seqLen,
        inputIds: ints('ids.i32'),
        attentionMask: ints('mask.i32'),
        labels: ints('labels.i32'),
      };
      groups = [
        { params: meta.groups[0], weightDecay: meta.weightDecay },
        { params: meta.groups[1], weightDecay: 0 },
      ];
    });

    test('eval logits and predictions', () => {
      const e = engine();
      const bytes = readFileSync(join(dir, 'logits.f32'));
      const expected = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
      const logits = e.logits(batch);
      assertClose(logits, expected, 'logits', 1e-5, 0);
      const { predictions } = e.evaluate(batch);
      const l = dims.numLabels;
      for (let i = 0; i < predictions.length; i++) {
        const row = Array.from(expected.subarray(i * l, (i + 1) * l));
        assert.equal(predictions[i], row.indexOf(Math.max(...row)), `prediction ${i}`);
      }
    });

    test('training loss and every gradient', async () => {
      const e = engine();
      const { loss } = e.accumulateGradients(batch, {
        lossNormalizer: labelledCount(batch),
        training: true,
      });
      assert.ok(Math.abs(loss - meta.loss) < 1e-6, `loss ${loss}, torch ${meta.loss}`);
      const torch = (await readSafetensors(join(dir, 'grads.safetensors'))).tensors;
      const ours = e.readGradients();
      assert.deepEqual([...ours.keys()].sort(), [...torch.keys()].sort());
      for (const [name, t] of torch) {
        const scale = Math.max(...Array.from(t.data, Math.abs), 1e-6);
        assertClose(ours.get(name)!, t.data, name, 1e-5 * scale, 0);
      }
    });

    test('one AdamW step from torch gradients gives torch parameters (two param groups)', async () => {
      const e = engine();
      const torch = (await readSafetensors(join(dir, 'grads.safetensors'))).tensors;
      e.writeGradients(new Map([...torch].map(([name, t]) => [name, t.data])));
      e.adamwStep([meta.lr, meta.lr], meta.betas, meta.eps);
      const after = (await readSafetensors(join(dir, 'after_adamw.safetensors'))).tensors;
      const state = e.stateDict();
      for (const [name, t] of after) assertClose(state.get(name)!.data, t.data, name, 1e-6, 0);
      const moments = e.optimizerState();
      assert.equal(moments.get('classifier.bias')!.step, 1);
      assertClose(
        moments.get('classifier.bias')!.expAvg,
        Array.from(torch.get('classifier.bias')!.data, (g) => 0.1 * g),
        'exp_avg',
        1e-9,
        1e-6,
      );
    });

    test('two half batches accumulated == the whole batch; zeroGradients clears', () => {
      const whole = engine();
      const count = labelledCount(batch);
      whole.accumulateGradients(batch, { lossNormalizer: count, training: true });
      const halves = engine();
      const t = batch.seqLen;
      const rows = (from: number, to: number): HostBatch => ({
        batchSize: to - from,
        seqLen: t,
        inputIds: batch.inputIds.slice(from * t, to * t),
        attentionMask: batch.attentionMask.slice(from * t, to * t),
        labels: batch.labels.slice(from * t, to * t),
      });
      halves.accumulateGradients(rows(0, 1), { lossNormalizer: count, training: true });
      halves.accumulateGradients(rows(1, 3), { lossNormalizer: count, training: true });
      const a = whole.readGradients();
      for (const [name, g] of halves.readGradients())
        assertClose(g, a.get(name)!, name, 1e-12, 1e-9);
      halves.zeroGradients();
      for (const g of halves.readGradients().values()) assert.ok(g.every((v) => v === 0));
      assert.equal(halves.clipGradNorm(1), 0);
    });
  },
);

test('with dropout on everywhere, gradients match finite differences of the same dropout masks', () => {
  const dims = { ...TINY_DIMS, hiddenDropout: 0.2, attentionDropout: 0.3, classifierDropout: 0.25 };
  let state = 99;
  const next = () =>
    ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32 - 0.5) * 0.4;
  const weights: HostWeights = new Map();
  const shapes = parameterShapes(dims);
  for (const [name, shape] of shapes) {
    const size = shape.reduce((x, y) => x * y, 1);
    weights.set(name, {
      shape,
      data: Float32Array.from({ length: size }, () =>
        name.includes('LayerNorm.weight') ? 1 + next() : next(),
      ),
    });
  }
  const t = 6;
  const batch: HostBatch = {
    batchSize: 2,
    seqLen: t,
    inputIds: Int32Array.from({ length: 2 * t }, (_, i) => (i * 7 + 3) % dims.vocabSize),
    attentionMask: Int32Array.of(1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0),
    labels: Int32Array.of(-100, 1, 2, 3, 4, 0, -100, 2, 2, 1, -100, -100),
  };
  const groups = [{ params: [...shapes.keys()], weightDecay: 0 }];
  const counter = 5;
  const lossAt = (w: HostWeights, withGrads: boolean) => {
    const e = CudaBertEngine.onDevice(
      { dims, weights: w, precision: 'fp32', seed: 11, paramGroups: groups },
      emulatedDevice().device,
    );
    e.setDropoutState({ seed: 11, counter });
    const { loss } = e.accumulateGradients(batch, { lossNormalizer: 7, training: true });
    assert.deepEqual(e.dropoutState(), { seed: 11, counter: counter + 1 });
    return { loss, grads: withGrads ? e.readGradients() : undefined };
  };
  const { grads } = lossAt(weights, true);
  const probes: [string, number][] = [
    ['bert.embeddings.word_embeddings.weight', 3 * 32 + 5],
    ['bert.embeddings.position_embeddings.weight', 2 * 32 + 1],
    ['bert.embeddings.token_type_embeddings.weight', 7],
    ['bert.embeddings.LayerNorm.weight', 4],
    ['bert.encoder.layer.0.attention.self.query.weight', 100],
    ['bert.encoder.layer.0.attention.self.key.bias', 3],
    ['bert.encoder.layer.0.attention.self.value.weight', 517],
    ['bert.encoder.layer.1.attention.output.dense.weight', 33],
    ['bert.encoder.layer.1.attention.output.LayerNorm.bias', 9],
    ['bert.encoder.layer.1.intermediate.dense.weight', 700],
    ['bert.encoder.layer.0.output.dense.bias', 2],
    ['bert.encoder.layer.1.output.LayerNorm.weight', 30],
    ['classifier.weight', 40],
  ];
  const eps = 1e-3;
  for (const [name, index] of probes) {
    const shifted = (delta: number) => {
      const w = new Map(weights);
      const data = Float32Array.from(weights.get(name)!.data);
      // float32 storage: the effective step is what float32 could represent.
      data[index] = data[index]! + delta;
      w.set(name, { shape: weights.get(name)!.shape, data });
      return { loss: lossAt(w, false).loss, step: data[index]! - weights.get(name)!.data[index]! };
    };
    const up = shifted(eps);
    const down = shifted(-eps);
    const numeric = (up.loss - down.loss) / (up.step - down.step);
    const analytic = grads!.get(name)![index]!;
    assert.ok(
      Math.abs(numeric - analytic) <= 1e-4 * Math.max(1, Math.abs(analytic)) + 2e-6,
      `${name}[${index}]: analytic ${analytic}, finite difference ${numeric}`,
    );
  }
});
