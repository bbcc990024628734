import * as tf from '@tensorflow/tfjs-core';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, describe, it } from 'node:test';

import {
  GradientBucketer,
  GrpcProcessGroup,
  SingleProcessGroup,
  type AllReduceOptions,
  type ProcessGroup,
  type ReduceOp,
  roundToHalf,
} from '@ner-launch/worker';

import { initBackend } from '../src/backend.js';
import {
  createLossScaler,
  finishGradients,
  planMixedPrecision,
  scaleLoss,
  type MixedPrecisionPlan,
} from '../src/mixed-precision.js';

/** The gradient all-reduce of a world of one, in the plan's wire format. */
function alone(
  plan: MixedPrecisionPlan,
): (g: Map<string, Float32Array>) => Promise<Map<string, Float32Array>> {
  const bucketer = new GradientBucketer(new SingleProcessGroup());
  return (g) => bucketer.reduce(g, 'mean', plan.gradientWire);
}

/** A loopback port nobody listens on right now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Deterministic values spread over many binades, both signs. */
function sample(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const mant = (s & 0xffff) / 0x10000 + 0.5;
    const exp = ((s >>> 16) % 23) - 13; // |x| in [2^-14, 2^10): fp16's normal range
    out[i] = (s & 0x80000000 ? -1 : 1) * mant * 2 ** exp;
  }
  return out;
}

/** A two-rank group whose all-reduce only counts the bytes it would put on the wire. */
function countingGroup(): { group: ProcessGroup; bytes: () => number } {
  let bytes = 0;
  const inner = new SingleProcessGroup();
  const group = Object.assign(Object.create(inner) as ProcessGroup, {
    worldSize: 2,
    allReduce(data: Float32Array, _op?: ReduceOp, options?: AllReduceOptions) {
      bytes += data.length * ((options?.wire ?? 'fp32') === 'fp32' ? 4 : 2);
      return Promise.resolve(data);
    },
  });
  return { group, bytes: () => bytes };
}

describe('mixed precision', () => {
  before(async () => {
    await initBackend('cpu');
  });

  it('plans fp16 as fp16 wire plus loss scaling, bf16 as bf16 wire without, and says math stays float32 on each backend', () => {
    const fp16 = planMixedPrecision('fp16', 'wasm');
    assert.equal(fp16.gradientWire, 'fp16');
    assert.equal(fp16.lossScaling, true);
    assert.equal(fp16.halfMatmul, false);
    assert.match(fp16.message, /wasm backend has no half-precision math/);
    const bf16 = planMixedPrecision('bf16', 'tensorflow');
    assert.deepEqual([bf16.gradientWire, bf16.lossScaling], ['bf16', false]);
    assert.match(bf16.message, /no float16 dtype/);
    assert.equal(planMixedPrecision('no', 'cpu').gradientWire, 'fp32');
    assert.equal(createLossScaler(planMixedPrecision('bf16', 'cpu')).scale, 1);
  });

  it('round-trips gradients through fp16 within 2^-11 and through bf16 within 2^-8 relative error', () => {
    const x = sample(100_000, 7);
    for (const [format, bound] of [
      ['fp16', 2 ** -11],
      ['bf16', 2 ** -8],
    ] as const) {
      const back = x.slice();
      roundToHalf(back, format);
      let worst = 0;
      for (let i = 0; i < x.length; i++)
        worst = Math.max(worst, Math.abs(back[i] - x[i]) / Math.abs(x[i]));
      assert.ok(worst <= bound, `${format}: worst relative error ${worst} > ${bound}`);
      assert.ok(
        worst > bound / 4,
        `${format}: suspiciously exact (${worst}); is it rounding at all?`,
      );
    }
  });

  it('moves half the bytes in the gradient all-reduce with fp16 and bf16', async () => {
    const sizes = [768 * 768, 768, 3072 * 768, 9];
    const moved: Record<string, number> = {};
    for (const mode of ['no', 'fp16', 'bf16'] as const) {
      const { group, bytes } = countingGroup();
      const bucketer = new GradientBucketer(group, 1 << 20);
      const plan = planMixedPrecision(mode, 'wasm');
      const grads = new Map(sizes.map((n, i) => [`p${i}`, sample(n, i + 1)]));
      await finishGradients(grads, plan, createLossScaler(plan), (g) =>
        bucketer.reduce(g, 'mean', plan.gradientWire),
      );
      moved[mode] = bytes();
    }
    const elements = sizes.reduce((a, b) => a + b, 0);
    assert.equal(moved.no, elements * 4);
    assert.equal(moved.fp16, moved.no / 2);
    assert.equal(moved.bf16, moved.no / 2);
  });

  it('keeps gradients below fp16’s underflow at scale 2^16 and returns them unscaled', async () => {
    const plan = planMixedPrecision('fp16', 'cpu');
    const tiny = 1e-8; // 0 in fp16 (smallest subnormal 6e-8), ~6.6e-4 once scaled
    const grads = new Map([['w', new Float32Array([tiny])]]);
    await finishGradients(grads, plan, createLossScaler(plan), alone(plan));
    const got = grads.get('w')![0];
    assert.ok(Math.abs(got - tiny) / tiny < 2 ** -10, `got ${got}`);
  });

  it('skips steps and backs off when scaled fp16 gradients overflow, then trains on', async () => {
    const plan = planMixedPrecision('fp16', 'cpu');
    const scaler = createLossScaler(plan);
    const decisions: boolean[] = [];
    const scales: number[] = [];
    for (let step = 1; step <= 4; step++) {
      // Gradient 2 of the unscaled loss: 2 * scale overflows fp16 (max 65504) until scale <= 2^14.
      const grads = new Map([['w', new Float32Array([2, 0.5])]]);
      const { skip, scale } = await finishGradients(grads, plan, scaler, alone(plan), step);
      decisions.push(skip);
      scales.push(scale);
      if (!skip) assert.deepEqual([...grads.get('w')!], [2, 0.5]);
    }
    assert.deepEqual(decisions, [true, true, false, false]);
    assert.deepEqual(scales, [65536, 32768, 16384, 16384]);
    assert.equal(scaler.skippedSteps, 2);
  });

  it('scales the loss so tfjs gradients come out scaled', () => {
    const scaler = createLossScaler(planMixedPrecision('fp16', 'cpu'));
    const x = tf.tensor1d([1, 2, 3]);
    const g = tf.grad((v: tf.Tensor) => scaleLoss(tf.sum(tf.mul(v, v)), scaler))(x);
    assert.deepEqual(
      [...g.dataSync()],
      [2, 4, 6].map((v) => v * 65536),
    );
    tf.dispose([x, g]);
  });

  describe('over real gRPC with two ranks', () => {
    let groups: GrpcProcessGroup[] = [];
    before(async () => {
      const masterPort = await freePort();
      groups = await Promise.all(
        [0, 1].map((rank) =>
          GrpcProcessGroup.create({
            rank,
            worldSize: 2,
            masterAddr: '127.0.0.1',
            masterPort,
            localAddr: '127.0.0.1',
            token: 'mp',
            rendezvousTimeoutMs: 20_000,
            collectiveTimeoutMs: 30_000,
          }),
        ),
      );
    });
    after(async () => {
      await Promise.all(groups.map((g) => g.close()));
    });

    it('averages fp16-scaled gradients identically on both ranks within fp16 error of the exact mean', async () => {
      const plan = planMixedPrecision('fp16', 'wasm');
      const raw = [sample(5000, 11), sample(5000, 12)].map((a) => a.map((v) => v * 1e-3));
      const scalers = [createLossScaler(plan), createLossScaler(plan)];
      const grads = raw.map((r) => new Map([['w', Float32Array.from(r)]]));
      const results = await Promise.all(
        groups.map((g, r) => {
          const bucketer = new GradientBucketer(g, 1 << 20);
          return finishGradients(grads[r], plan, scalers[r], (m) =>
            bucketer.reduce(m, 'mean', 'fp16'),
          );
        }),
      );
      assert.deepEqual(
        results.map((r) => r.skip),
        [false, false],
      );
      const a = grads[0].get('w')!;
      const b = grads[1].get('w')!;
      assert.deepEqual(a, b);
      let worst = 0;
      for (let i = 0; i < a.length; i++) {
        const exact = (raw[0][i] + raw[1][i]) / 2;
        worst = Math.max(
          worst,
          Math.abs(a[i] - exact) / (Math.abs(raw[0][i]) + Math.abs(raw[1][i])),
        );
      }
      // Each value is rounded to fp16 a few times on the ring: a few units of 2^-11.
      assert.ok(worst < 4 * 2 ** -11, `worst relative error ${worst}`);
    });
  });
});
