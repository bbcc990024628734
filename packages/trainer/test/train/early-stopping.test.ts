import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  initialEarlyStopping,
  meanValidation,
  updateEarlyStopping,
  validationBatchIndices,
} from '../../src/train/early-stopping.js';

/** Runs the epochs' F1s through the rule; returns the epochs saved and the epoch it stopped at. */
function simulate(
  f1s: number[],
  patience: number,
  k: number,
): { saved: number[]; stoppedAt?: number } {
  let state = initialEarlyStopping();
  const saved: number[] = [];
  for (let i = 0; i < f1s.length; i++) {
    const decision = updateEarlyStopping(state, i + 1, f1s[i], {
      patience,
      validationsPerEpoch: k,
    });
    state = decision.state;
    if (decision.save) saved.push(i + 1);
    if (decision.stop) return { saved, stoppedAt: i + 1 };
  }
  return { saved };
}

test('patience 2 stops after the second epoch without improvement', () => {
  assert.deepEqual(simulate([0.5, 0.6, 0.55, 0.58, 0.9], 2, 1), { saved: [1, 2], stoppedAt: 4 });
});

test('an improvement resets the count', () => {
  assert.deepEqual(simulate([0.5, 0.4, 0.6, 0.5, 0.55, 0.7], 2, 1), {
    saved: [1, 3],
    stoppedAt: 5,
  });
});

test('with k validations per epoch the limit is patience x k epochs (the reference rule)', () => {
  assert.deepEqual(simulate([0.5, 0.4, 0.4, 0.4, 0.4, 0.4], 2, 2), { saved: [1], stoppedAt: 5 });
});

test('an equal F1 is not an improvement', () => {
  assert.deepEqual(simulate([0.5, 0.5, 0.5], 2, 1), { saved: [1], stoppedAt: 3 });
});

test('a first epoch with F1 0 still saves a model', () => {
  assert.deepEqual(simulate([0, 0, 0.1], 5, 1), { saved: [1, 3] });
});

test('validation runs after every floor(n/k) batches, k times', () => {
  assert.deepEqual(validationBatchIndices(10, 1), [9]);
  assert.deepEqual(validationBatchIndices(10, 2), [4, 9]);
  assert.deepEqual(validationBatchIndices(10, 3), [2, 5, 8]);
  assert.deepEqual(validationBatchIndices(10, 4), [1, 3, 5, 7]);
  assert.deepEqual(validationBatchIndices(3, 5), [0, 1, 2]);
});

test("the epoch's validation figures are the mean of its validations", () => {
  assert.deepEqual(
    meanValidation([
      { loss: 1, accuracy: 0.5, f1: 0.25 },
      { loss: 3, accuracy: 0.7, f1: 0.75 },
    ]),
    { loss: 2, accuracy: 0.6, f1: 0.5 },
  );
  assert.throws(() => meanValidation([]), /no validation/);
});
