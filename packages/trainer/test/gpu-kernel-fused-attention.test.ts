import * as tf from '@tensorflow/tfjs-core';
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';

import { initBackend } from '../src/backend.js';
import {
  fusedAttentionBackwardReference,
  fusedAttentionReference,
  type AttentionDims,
} from '../src/gpu/kernels/fused-attention.js';
import { randomArray, relativeError } from '../src/gpu/kernels/kernel-compare.js';

describe('fused attention CPU reference', () => {
  before(async () => {
    await initBackend('cpu');
  });

  it('matches tfjs-cpu softmax(QKᵀ·scale + mask)·V and its Q, K, V gradients within 1e-5', () => {
    const d: AttentionDims = { batch: 2, heads: 3, seq: 17, headDim: 8, scale: 1 / Math.sqrt(8) };
    const shape = [d.batch, d.heads, d.seq, d.headDim] as [number, number, number, number];
    const n = d.batch * d.heads * d.seq * d.headDim;
    const q = randomArray(n, 1);
    const k = randomArray(n, 2);
    const v = randomArray(n, 3);
    const dO = randomArray(n, 4);
    // Second sequence padded after 11 tokens, BERT style (large negative additive mask).
    const mask = new Float32Array(d.batch * d.seq).map((_, i) => (i >= d.seq + 11 ? -10000 : 0));
    const maskT = tf.reshape(tf.tensor2d(mask, [d.batch, d.seq]), [d.batch, 1, 1, d.seq]);
    const f = (qt: tf.Tensor, kt: tf.Tensor, vt: tf.Tensor) =>
      tf.matMul(tf.softmax(tf.add(tf.mul(tf.matMul(qt, kt, false, true), d.scale), maskT)), vt);
    const ts = [tf.tensor4d(q, shape), tf.tensor4d(k, shape), tf.tensor4d(v, shape)];
    const o = f(ts[0], ts[1], ts[2]).dataSync();
    const grads = tf
      .grads(f)(ts, tf.tensor4d(dO, shape))
      .map((t) => t.dataSync());
    const fwd = relativeError(fusedAttentionReference(q, k, v, mask, d), o);
    assert.ok(fwd < 1e-5, `forward relative error ${fwd}`);
    const ref = fusedAttentionBackwardReference(q, k, v, mask, dO, d);
    for (const [name, got, want] of [
      ['dq', ref.dq, grads[0]],
      ['dk', ref.dk, grads[1]],
      ['dv', ref.dv, grads[2]],
    ] as const) {
      const e = relativeError(got, want);
      assert.ok(e < 1e-5, `${name}: relative error ${e}`);
    }
  });
});
