import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SeededRandom } from '@ner-launch/common';
import { AdamW, type ParameterAccess } from '../../src/optim/adamw.js';
import { clipGradNorm } from '../../src/optim/grad-clip.js';
import { runReference, skipWithoutPython } from '../../../../test/support/python.js';

/** Host parameters for the optimizer, without a model. */
function hostParams(values: Map<string, Float32Array>): ParameterAccess {
  return {
    size: (name) => values.get(name)!.length,
    update: (name, update) => update(values.get(name)!),
  };
}

function randomArray(rng: SeededRandom, size: number, scale: number): Float32Array {
  return rng.normalArray(size, scale);
}

test(
  'AdamW with param groups, a frozen parameter, a missing gradient and clipping matches torch over 3 steps',
  { skip: skipWithoutPython() },
  () => {
    const rng = new SeededRandom(3);
    const sizes: Record<string, number> = { weight: 12, bias: 3, head: 5, frozen: 4, sometimes: 6 };
    const initial = new Map(
      Object.entries(sizes).map(([name, size]) => [name, randomArray(rng, size, 0.5)]),
    );
    const groups = [
      { params: ['weight', 'sometimes'], lr: 1e-3, weightDecay: 0.01 },
      { params: ['bias'], lr: 1e-3, weightDecay: 0 },
      { params: ['head'], lr: 5e-3, weightDecay: 0.1 },
    ];
    // Step 1 large (clipped), step 2 small (not clipped) and without a gradient for `sometimes`.
    const steps = [0.8, 0.01, 0.3].map((scale, step) => {
      const grads = new Map<string, Float32Array>();
      for (const name of ['weight', 'bias', 'head', 'sometimes'])
        if (!(step === 1 && name === 'sometimes'))
          grads.set(name, randomArray(rng, sizes[name]!, scale));
      return grads;
    });
    const spec = {
      params: Object.fromEntries([...initial].map(([n, v]) => [n, [...v]])),
      groups: groups.map((g) => ({ params: g.params, lr: g.lr, weight_decay: g.weightDecay })),
      grads: steps.map((g) => Object.fromEntries([...g].map(([n, v]) => [n, [...v]]))),
      clip: 1.0,
    };
    const expected = JSON.parse(
      runReference('model_reference.py', ['adamw'], JSON.stringify(spec)),
    ) as {
      params: Record<string, number[]>;
      norms: number[];
    };

    const values = new Map([...initial].map(([n, v]) => [n, new Float32Array(v)]));
    const optimizer = new AdamW(groups);
    const norms: number[] = [];
    for (const grads of steps) {
      const copy = new Map([...grads].map(([n, g]) => [n, new Float32Array(g)]));
      norms.push(clipGradNorm(copy.values(), 1.0));
      optimizer.step(copy, hostParams(values));
    }
    norms.forEach((norm, i) =>
      assert.ok(Math.abs(norm - expected.norms[i]!) <= 1e-6 * expected.norms[i]!, `norm ${i}`),
    );
    assert.ok(
      expected.norms[0]! > 1 && expected.norms[1]! < 1,
      'one clipped and one unclipped step',
    );
    let maxDiff = 0;
    for (const [name, data] of values) {
      const want = expected.params[name]!;
      for (let i = 0; i < data.length; i++)
        maxDiff = Math.max(maxDiff, Math.abs(data[i]! - want[i]!));
    }
    assert.ok(maxDiff <= 1e-7, `parameters differ from torch by ${maxDiff}`);
    assert.deepEqual([...values.get('frozen')!], [...initial.get('frozen')!]);
    assert.equal(optimizer.stateOf('sometimes')?.step, 2, 'a step without a gradient is skipped');
    assert.equal(optimizer.stateOf('frozen'), undefined, 'frozen parameters get no state');
  },
);

test('the learning rate of a group can be changed between steps (schedules)', () => {
  const values = new Map([['w', new Float32Array([1, 2])]]);
  const optimizer = new AdamW([{ params: ['w'], lr: 0, weightDecay: 0 }]);
  optimizer.step(new Map([['w', new Float32Array([1, -1])]]), hostParams(values));
  assert.deepEqual([...values.get('w')!], [1, 2]);
  optimizer.groups[0]!.lr = 0.1;
  optimizer.step(new Map([['w', new Float32Array([1, -1])]]), hostParams(values));
  // Second step with constant gradients: m̂ = g, v̂ = g², so the update is lr·sign(g).
  assert.ok(Math.abs(values.get('w')![0]! - 0.9) < 1e-6);
  assert.ok(Math.abs(values.get('w')![1]! - 2.1) < 1e-6);
});

test('a parameter listed in two groups is refused', () => {
  assert.throws(
    () =>
      new AdamW([
        { params: ['a'], lr: 1, weightDecay: 0 },
        { params: ['a'], lr: 1, weightDecay: 0 },
      ]),
    /parameter a appears in two param groups/,
  );
});

test('a gradient whose length differs from its parameter is an error naming it', () => {
  const optimizer = new AdamW([{ params: ['w'], lr: 1, weightDecay: 0 }]);
  assert.throws(
    () =>
      optimizer.step(
        new Map([['w', new Float32Array(3)]]),
        hostParams(new Map([['w', new Float32Array(2)]])),
      ),
    /gradient for w has 3 elements, the parameter 2/,
  );
});
