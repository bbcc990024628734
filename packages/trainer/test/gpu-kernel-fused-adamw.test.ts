import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { fusedAdamWReference } from '../src/gpu/kernels/fused-adamw.js';
import { randomArray, relativeError } from '../src/gpu/kernels/kernel-compare.js';
import { adamwUpdate } from '../src/optim/adamw.js';

describe('fused AdamW CPU reference', () => {
  it('matches the torch-exact AdamW over three steps within 1e-5, decaying only [0, decayEnd)', () => {
    const n = 5000;
    const decayEnd = 3000;
    const hyper = { lr: 3e-3, weightDecay: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, decayEnd };
    const params = randomArray(n, 1);
    const state = { step: 0, expAvg: new Float32Array(n), expAvgSq: new Float32Array(n) };
    let packed: Float64Array = new Float64Array(3 * n);
    packed.set(params);
    for (let step = 1; step <= 3; step++) {
      const grad = randomArray(n, 10 + step, 0.1);
      state.step = step;
      const decayed = params.subarray(0, decayEnd);
      adamwUpdate(
        decayed,
        grad.subarray(0, decayEnd),
        {
          ...state,
          expAvg: state.expAvg.subarray(0, decayEnd),
          expAvgSq: state.expAvgSq.subarray(0, decayEnd),
        },
        hyper.lr,
        hyper.weightDecay,
        0.9,
        0.999,
        1e-8,
      );
      adamwUpdate(
        params.subarray(decayEnd),
        grad.subarray(decayEnd),
        {
          ...state,
          expAvg: state.expAvg.subarray(decayEnd),
          expAvgSq: state.expAvgSq.subarray(decayEnd),
        },
        hyper.lr,
        0,
        0.9,
        0.999,
        1e-8,
      );
      packed = fusedAdamWReference(packed, Float64Array.from(grad), { ...hyper, step });
    }
    const err = relativeError(packed.subarray(0, n), params);
    assert.ok(err < 1e-5, `params: relative error ${err}`);
    assert.ok(relativeError(packed.subarray(n, 2 * n), state.expAvg) < 1e-5);
    assert.ok(relativeError(packed.subarray(2 * n), state.expAvgSq) < 1e-5);
  });

  it('rejects a state of the wrong length and a step below 1', () => {
    const s = { lr: 1e-3, weightDecay: 0, beta1: 0.9, beta2: 0.999, eps: 1e-8, decayEnd: 0 };
    assert.throws(
      () => fusedAdamWReference(new Float64Array(5), new Float64Array(2), { ...s, step: 1 }),
      /expected 3 × 2/,
    );
    assert.throws(
      () => fusedAdamWReference(new Float64Array(6), new Float64Array(2), { ...s, step: 0 }),
      /step must be >= 1/,
    );
  });
});
