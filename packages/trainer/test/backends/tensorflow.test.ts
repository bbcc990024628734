import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/backend.js';
import { quietLoaderPath } from '../../src/backends/tensorflow-install.js';
import {
  findTensorflowInstall,
  loadTensorflowBackend,
} from '../../src/backends/tensorflow-loader.js';
import { skipWithoutTensorflow } from '../../../../test/support/tensorflow.js';

const skip = skipWithoutTensorflow();

/** Deterministic values in [-0.5, 0.5) (a fixed LCG), so both backends see the same inputs. */
function values(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1664525 + 1013904223) >>> 0;
    out[i] = s / 2 ** 32 - 0.5;
  }
  return out;
}

function maxAbsDiff(a: Float32Array | Int32Array | Uint8Array, b: typeof a): number {
  assert.equal(a.length, b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

/**
 * Matrix products with every transpose combination (plain and as a batch of one, the two routes
 * tensorflow-matmul.ts takes) and the gradients of a small layer (matmul, bias, gelu-like erf,
 * softmax loss).
 */
function compute(): { product: Float32Array; gradW: Float32Array; gradB: Float32Array } {
  return tf.tidy(() => {
    const x = tf.tensor2d(values(64 * 48, 1), [64, 48]);
    const w = tf.tensor2d(values(48 * 32, 2), [48, 32]);
    const b = tf.tensor1d(values(32, 3));
    const xT = tf.transpose(x);
    const wT = tf.transpose(w);
    const products = [
      tf.matMul(x, w),
      tf.matMul(xT, w, true, false),
      tf.matMul(x, wT, false, true),
      tf.matMul(xT, wT, true, true),
      tf.matMul(tf.expandDims(xT, 0), tf.expandDims(w, 0), true, false),
      tf.matMul(tf.expandDims(x, 0), tf.expandDims(w, 0)),
    ];
    const product = tf.concat(products.map((p) => tf.reshape(p, [-1]))).dataSync() as Float32Array;
    const loss = (wv: tf.Tensor, bv: tf.Tensor): tf.Scalar => {
      const h = tf.add(tf.matMul(x, wv as tf.Tensor2D), bv);
      const act = tf.mul(h, tf.add(1, tf.erf(tf.div(h, Math.SQRT2))));
      return tf.mean(tf.neg(tf.slice(tf.logSoftmax(act), [0, 0], [64, 1])));
    };
    const [gw, gb] = tf.grads(loss)([w, b]);
    return {
      product,
      gradW: gw!.dataSync() as Float32Array,
      gradB: gb!.dataSync() as Float32Array,
    };
  });
}

const probe = fileURLToPath(new URL('../support/tensorflow-threads.ts', import.meta.url));

/** Loads the backend in a child process with these thread counts and runs a few matmuls. */
function runProbe(intra: number, inter: number): { stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', probe, String(intra), String(inter)], {
    encoding: 'utf8',
    // The loader's own default log level, whatever the environment running the tests says.
    env: Object.fromEntries(
      Object.entries(process.env).filter(([k]) => k !== 'TF_CPP_MIN_LOG_LEVEL'),
    ),
  });
  assert.equal(r.status, 0, r.stderr);
  return r;
}

describe('tensorflow backend (libtensorflow from ner-launch setup tensorflow)', () => {
  // First: once an install is loaded the loader returns it for every later call.
  it('refuses an install built from another tfjs-node release than our tfjs-core', async () => {
    await assert.rejects(
      loadTensorflowBackend(
        {},
        {
          dir: '/nowhere/tensorflow/2.21.0-cpu',
          manifest: {
            tensorflowVersion: '2.21.0',
            build: 'cpu',
            tfjsNodeVersion: '4.21.0',
            napiVersion: 8,
            platform: process.platform,
            arch: process.arch,
            source: 'test',
            createdAt: '2026-01-01T00:00:00Z',
          },
        },
      ),
      /built from tfjs-node 4\.21\.0, but this checkout has @tensorflow\/tfjs-core 4\.22\.0/,
    );
  });

  it(
    'registers as tensorflow in the project tfjs-core and reports the installed TF',
    { skip },
    async () => {
      assert.equal(await initBackend('tensorflow'), 'tensorflow');
      assert.equal(tf.getBackend(), 'tensorflow');
      const install = findTensorflowInstall()!;
      const info = await loadTensorflowBackend();
      assert.equal(info.dir, install.dir);
      assert.match(info.tensorflowVersion, /^2\.\d+\.\d+/);
      assert.equal(info.tensorflowVersion, install.manifest.tensorflowVersion);
      assert.equal(info.usingGpu, false);
    },
  );

  it(
    'computes matmuls (each transpose combination) and gradients equal to wasm within 1e-5',
    { skip },
    async () => {
      await initBackend('wasm');
      const onWasm = compute();
      await initBackend('tensorflow');
      const onTf = compute();
      assert.ok(maxAbsDiff(onTf.product, onWasm.product) < 1e-5, 'matmul');
      assert.ok(maxAbsDiff(onTf.gradW, onWasm.gradW) < 1e-5, 'gradient of W');
      assert.ok(maxAbsDiff(onTf.gradB, onWasm.gradB) < 1e-5, 'gradient of b');
      // The gradient is not trivially zero.
      assert.ok(Math.max(...onTf.gradW.map(Math.abs)) > 1e-4);
    },
  );

  it(
    'sizes libtensorflow thread pools from intraOpThreads / interOpThreads',
    { skip: skip || (existsSync('/proc/self/task') ? false : 'needs /proc') },
    () => {
      const threads = (intra: number, inter: number): number =>
        Number(/threads=(\d+)/.exec(runProbe(intra, inter).stdout)?.[1]);
      const base = threads(1, 1);
      // Each extra thread asked for is one more OS thread in the process.
      assert.equal(threads(4, 1) - base, 3);
      assert.equal(threads(1, 3) - base, 2);
    },
  );

  it(
    'prints none of the start-up log lines of TensorFlow',
    {
      skip:
        skip ||
        (existsSync(quietLoaderPath(findTensorflowInstall()!.dir))
          ? false
          : 'this install predates the quiet loader: run ner-launch setup tensorflow again after removing it'),
    },
    () => {
      assert.equal(runProbe(1, 1).stderr, '');
    },
  );
});
