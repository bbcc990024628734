import * as tf from '@tensorflow/tfjs-core';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';

import { registerGradients } from '../src/backend.js';

import {
  fusedAttention,
  fusedBiasGelu,
  fusedResidualLayerNorm,
  registerTiledMatmul,
} from '../src/gpu/fused-ops.js';
import { runKernelChecks, type ErrorScopeDevice } from '../src/gpu/kernel-checks.js';

const require = createRequire(import.meta.url);

/** tfjs's WebGPU backend on Dawn's null adapter: WGSL is compiled and validated, nothing runs. */
async function nullWebgpu(): Promise<ErrorScopeDevice | undefined> {
  let dawn: { create(flags: string[]): unknown; globals: Record<string, unknown> };
  try {
    dawn = require('webgpu') as typeof dawn;
  } catch {
    return undefined;
  }
  const gpu = dawn.create(['backend=null']);
  Object.assign(globalThis, dawn.globals);
  Object.defineProperty(globalThis, 'navigator', {
    value: { gpu },
    configurable: true,
    writable: true,
  });
  await registerGradients();
  await import('@tensorflow/tfjs-backend-webgpu');
  if (!(await tf.setBackend('webgpu'))) return undefined;
  return (tf.backend() as unknown as { device: ErrorScopeDevice }).device;
}

describe('fused WebGPU kernels', () => {
  it('compile and validate as WGSL in tfjs’s WebGPU backend (Dawn null adapter: no results checked)', async (t) => {
    const device = await nullWebgpu();
    if (!device) {
      t.skip('npm webgpu / Dawn null backend unavailable');
      return;
    }
    const results = await runKernelChecks('small', { device });
    assert.equal(results.length, 8);
    for (const r of results)
      assert.equal(r.validationError, undefined, `${r.kernel}: ${r.validationError}`);

    // The differentiable ops and the BatchMatMul swap wire up: right shapes, no WebGPU errors.
    device.pushErrorScope('validation');
    assert.equal(registerTiledMatmul(), true);
    const x = tf.ones([2, 5, 8]);
    const bias = tf.ones([8]) as tf.Tensor1D;
    const w = tf.ones([8, 8]);
    const grads = tf.grads((xi: tf.Tensor, bi: tf.Tensor) => {
      const h = fusedBiasGelu(tf.matMul(tf.reshape(xi, [10, 8]), w), bi as tf.Tensor1D);
      const y = fusedResidualLayerNorm(
        h,
        tf.reshape(xi, [10, 8]),
        tf.ones([8]) as tf.Tensor1D,
        tf.zeros([8]) as tf.Tensor1D,
        1e-12,
      );
      const q = tf.reshape(y, [1, 2, 5, 8]) as tf.Tensor4D;
      return tf.sum(fusedAttention(q, q, q, tf.zeros([1, 5]) as tf.Tensor2D));
    })([x, bias]);
    assert.deepEqual(
      grads.map((g) => g.shape),
      [[2, 5, 8], [8]],
    );
    await Promise.all(grads.map((g) => g.data()));
    const err = await device.popErrorScope();
    assert.equal(err, null, err?.message);
  });
});
