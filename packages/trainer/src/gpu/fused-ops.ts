/**
 * Differentiable ops over the fused kernels, for the model to call: on `--backend webgpu` they
 * run the WGSL kernels (forward and backward), elsewhere the same math as plain tfjs ops, so
 * one model code path serves every backend. `registerTiledMatmul` swaps tfjs's own WebGPU
 * BatchMatMul kernel (3-8 TFLOP/s on an H200) for ours, which every tf.matMul then uses.
 */
import * as tf from '@tensorflow/tfjs-core';

import { biasGeluBackwardWebgpu, biasGeluWebgpu } from './kernels/bias-gelu.js';
import { fusedAttentionBackwardWebgpu, fusedAttentionWebgpu } from './kernels/fused-attention.js';
import {
  residualLayerNormBackwardWebgpu,
  residualLayerNormWebgpu,
} from './kernels/residual-layer-norm.js';
import { tiledMatmulWebgpu } from './kernels/tiled-matmul.js';

/** tf.customGrad's type takes variadic (Tensor | GradSaveFunc) arguments; ours are positional. */
function asGradFunc(
  f: (...args: never[]) => {
    value: tf.Tensor;
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor[];
  },
): Parameters<typeof tf.customGrad>[0] {
  return f as unknown as Parameters<typeof tf.customGrad>[0];
}

function onWebgpu(): boolean {
  return tf.getBackend() === 'webgpu';
}

function geluComposite(u: tf.Tensor): tf.Tensor {
  return tf.mul(tf.mul(u, 0.5), tf.add(1, tf.erf(tf.mul(u, Math.SQRT1_2))));
}

/** gelu(x + bias) (erf form, BERT's "gelu"), x [..., n], bias [n]. */
export function fusedBiasGelu(x: tf.Tensor, bias: tf.Tensor1D): tf.Tensor {
  if (!onWebgpu()) return geluComposite(tf.add(x, bias));
  const f = tf.customGrad(
    asGradFunc((xi: tf.Tensor, bi: tf.Tensor, save: tf.GradSaveFunc) => {
      save([xi, bi]);
      return {
        value: biasGeluWebgpu(xi, bi as tf.Tensor1D),
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
          const dx = biasGeluBackwardWebgpu(saved[0], saved[1] as tf.Tensor1D, dy);
          const db = tf.sum(tf.reshape(dx, [-1, saved[1].size]), 0);
          return [dx, db];
        },
      };
    }),
  );
  return f(x, bias);
}

/** LayerNorm(x + residual)·γ + β over the last axis. */
export function fusedResidualLayerNorm(
  x: tf.Tensor,
  residual: tf.Tensor,
  gamma: tf.Tensor1D,
  beta: tf.Tensor1D,
  eps: number,
): tf.Tensor {
  if (!onWebgpu()) {
    const h = tf.add(x, residual);
    const { mean, variance } = tf.moments(h, -1, true);
    return tf.add(tf.mul(tf.div(tf.sub(h, mean), tf.sqrt(tf.add(variance, eps))), gamma), beta);
  }
  const f = tf.customGrad(
    asGradFunc(
      (xi: tf.Tensor, ri: tf.Tensor, gi: tf.Tensor, bi: tf.Tensor, save: tf.GradSaveFunc) => {
        save([xi, ri, gi]);
        return {
          value: residualLayerNormWebgpu(xi, ri, gi as tf.Tensor1D, bi as tf.Tensor1D, eps),
          gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
            const g = residualLayerNormBackwardWebgpu(
              saved[0],
              saved[1],
              saved[2] as tf.Tensor1D,
              dy,
              eps,
            );
            return [g.dh, tf.clone(g.dh), g.dGamma, g.dBeta];
          },
        };
      },
    ),
  );
  return f(x, residual, gamma, beta);
}

/** softmax(Q·Kᵀ/√D + mask)·V; Q, K, V [B, H, S, D], mask additive [B, S]. */
export function fusedAttention(
  q: tf.Tensor4D,
  k: tf.Tensor4D,
  v: tf.Tensor4D,
  mask: tf.Tensor2D,
): tf.Tensor4D {
  if (!onWebgpu()) {
    const [b, , s, d] = q.shape;
    const scores = tf.add(
      tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(d)),
      tf.reshape(mask, [b, 1, 1, s]),
    );
    return tf.matMul(tf.softmax(scores), v);
  }
  const f = tf.customGrad(
    asGradFunc((qi: tf.Tensor, ki: tf.Tensor, vi: tf.Tensor, save: tf.GradSaveFunc) => {
      const o = fusedAttentionWebgpu(qi as tf.Tensor4D, ki as tf.Tensor4D, vi as tf.Tensor4D, mask);
      save([qi, ki, vi, o]);
      return {
        value: o,
        gradFunc: (dO: tf.Tensor, saved: tf.Tensor[]) => {
          const [qs, ks, vs, os] = saved as tf.Tensor4D[];
          const g = fusedAttentionBackwardWebgpu(qs, ks, vs, mask, os, dO as tf.Tensor4D);
          return [g.dq, g.dk, g.dv];
        },
      };
    }),
  );
  return f(q, k, v) as tf.Tensor4D;
}

/**
 * Replaces tfjs's WebGPU BatchMatMul (plain, unfused: no bias/activation inputs) with the
 * tiled kernel. Call after the webgpu backend is set; returns false elsewhere.
 */
export function registerTiledMatmul(): boolean {
  if (!onWebgpu()) return false;
  const original = tf.getKernel('BatchMatMul', 'webgpu');
  if (!original) return false;
  tf.unregisterKernel('BatchMatMul', 'webgpu');
  tf.registerKernel({
    kernelName: 'BatchMatMul',
    backendName: 'webgpu',
    kernelFunc: ({ inputs, attrs, backend }) => {
      const { a, b } = inputs as { a: tf.Tensor; b: tf.Tensor };
      const { transposeA, transposeB } = attrs as unknown as {
        transposeA: boolean;
        transposeB: boolean;
      };
      // tfjs's op reshapes operands to rank 3 before the kernel; other ranks go to the original.
      if (a.shape.length !== 3 || b.shape.length !== 3 || a.dtype !== 'float32')
        return original.kernelFunc({ inputs, attrs, backend });
      const out = tiledMatmulWebgpu(a as tf.Tensor3D, b as tf.Tensor3D, transposeA, transposeB);
      return { dataId: out.dataId, shape: out.shape, dtype: out.dtype };
    },
  });
  return true;
}
