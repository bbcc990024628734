import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  buildLrSchedule,
  defaultWarmupSteps,
  learningRateAt,
  linearWarmupDecayFactor,
  lrFactorAt,
  optimizerStepsPerEpoch,
} from '../../src/train/lr-schedule.js';

const close = (a: number, b: number, tol = 1e-12): void =>
  assert.ok(Math.abs(a - b) <= tol, `${a} != ${b} (tolerance ${tol})`);

test('the linear schedule warms up from 0 and decays to 0 as HF get_linear_schedule_with_warmup', () => {
  // warmup 2, total 10 (HF: step/warmup, then (total-step)/(total-warmup)).
  const expected = [0, 0.5, 1, 7 / 8, 6 / 8, 5 / 8, 4 / 8, 3 / 8, 2 / 8, 1 / 8, 0, 0];
  expected.forEach((factor, step) => close(linearWarmupDecayFactor(step, 2, 10), factor));
});

test('the linear schedule without warmup starts at the full rate', () => {
  close(linearWarmupDecayFactor(0, 0, 4), 1);
  close(linearWarmupDecayFactor(3, 0, 4), 0.25);
});

test('the learning rate after 2 exponential epochs is lr x gamma^2', () => {
  const schedule = buildLrSchedule({
    scheduler: 'exponential',
    epochs: 5,
    gamma: 0.8,
    stepsPerEpoch: 7,
  });
  close(learningRateAt(schedule, 2e-4, 0), 2e-4);
  close(learningRateAt(schedule, 2e-4, 6), 2e-4);
  close(learningRateAt(schedule, 2e-4, 7), 2e-4 * 0.8);
  close(learningRateAt(schedule, 2e-4, 14), 2e-4 * 0.8 ** 2);
  close(learningRateAt(schedule, 2e-4, 20), 2e-4 * 0.8 ** 2);
});

test('the none schedule keeps the base rate', () => {
  const schedule = buildLrSchedule({ scheduler: 'none', epochs: 3, gamma: 0.8, stepsPerEpoch: 4 });
  for (let step = 0; step < 12; step++) close(lrFactorAt(schedule, step), 1);
});

test('the default warmup is round(steps per epoch / 5) with Python rounding', () => {
  assert.equal(defaultWarmupSteps(100), 20);
  assert.equal(defaultWarmupSteps(12), 2); // 2.4
  assert.equal(defaultWarmupSteps(13), 3); // 2.6
  assert.equal(defaultWarmupSteps(12.5 * 1), 2); // 2.5 rounds half to even
  assert.equal(defaultWarmupSteps(17.5), 4); // 3.5 rounds to 4
  assert.equal(defaultWarmupSteps(2), 0);
});

test('buildLrSchedule spans epochs x steps per epoch and honours --warmup_steps', () => {
  const byDefault = buildLrSchedule({
    scheduler: 'linear',
    epochs: 3,
    gamma: 0.8,
    stepsPerEpoch: 50,
  });
  assert.deepEqual([byDefault.totalSteps, byDefault.warmupSteps], [150, 10]);
  const explicit = buildLrSchedule({
    scheduler: 'linear',
    epochs: 3,
    gamma: 0.8,
    stepsPerEpoch: 50,
    warmup_steps: 0,
  });
  assert.equal(explicit.warmupSteps, 0);
  close(lrFactorAt(explicit, 0), 1);
});

test('optimizer steps per epoch round a last partial accumulation up', () => {
  assert.equal(optimizerStepsPerEpoch(10, 1), 10);
  assert.equal(optimizerStepsPerEpoch(10, 4), 3);
  assert.equal(optimizerStepsPerEpoch(8, 4), 2);
});
