import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { LossScaler } from '../../src/optim/loss-scaler.js';

describe('LossScaler (torch GradScaler semantics)', () => {
  it('starts at 2^16 and unscales gradients by dividing by the scale', () => {
    const scaler = new LossScaler();
    assert.equal(scaler.scale, 65536);
    const g = new Float32Array([65536, -32768, 0]);
    assert.deepEqual(scaler.unscale([g]), { foundInf: false });
    assert.deepEqual([...g], [1, -0.5, 0]);
  });

  it('skips the step and halves the scale on a forced overflow (inf) and on NaN', () => {
    const scaler = new LossScaler();
    const inf = scaler.unscale([new Float32Array([1, Infinity])]);
    assert.equal(inf.foundInf, true);
    assert.equal(scaler.update(inf.foundInf, 1), true);
    assert.equal(scaler.scale, 32768);
    const nan = scaler.unscale([new Float32Array([NaN])]);
    assert.equal(scaler.update(nan.foundInf, 2), true);
    assert.equal(scaler.scale, 16384);
    assert.equal(scaler.skippedSteps, 2);
  });

  it('doubles the scale after 2000 good steps in a row, and an overflow restarts the count', () => {
    const scaler = new LossScaler();
    for (let i = 0; i < 1999; i++) assert.equal(scaler.update(false), false);
    assert.equal(scaler.scale, 65536);
    scaler.update(true); // backoff resets the tracker
    assert.equal(scaler.scale, 32768);
    for (let i = 0; i < 1999; i++) scaler.update(false);
    assert.equal(scaler.scale, 32768);
    scaler.update(false);
    assert.equal(scaler.scale, 65536);
    assert.equal(scaler.state().growthTracker, 0);
  });

  it('recovers from a run of overflows as GradScaler does: one halving per skipped step', () => {
    const scaler = new LossScaler({ growthInterval: 3 });
    for (let i = 0; i < 5; i++) scaler.update(true);
    assert.equal(scaler.scale, 2 ** 11);
    for (let i = 0; i < 6; i++) scaler.update(false);
    assert.equal(scaler.scale, 2 ** 13);
    assert.equal(scaler.skippedSteps, 5);
  });

  it('when disabled keeps scale 1 and never skips', () => {
    const scaler = new LossScaler({ enabled: false });
    assert.equal(scaler.scale, 1);
    assert.equal(scaler.update(false), false);
    assert.equal(scaler.scale, 1);
  });

  it('saves and restores its state', () => {
    const a = new LossScaler({ growthInterval: 10 });
    a.update(true);
    a.update(false);
    const b = new LossScaler({ growthInterval: 10 });
    b.load(a.state());
    assert.deepEqual(b.state(), { scale: 32768, growthTracker: 1, skippedSteps: 1 });
    assert.throws(() => b.load({ scale: 0, growthTracker: 0, skippedSteps: 0 }), /positive finite/);
  });

  it('rejects nonsensical options with a message naming the option', () => {
    assert.throws(() => new LossScaler({ backoffFactor: 2 }), /backoffFactor/);
    assert.throws(() => new LossScaler({ growthInterval: 0 }), /growthInterval/);
    assert.throws(() => new LossScaler({ initScale: -1 }), /initScale/);
  });
});
