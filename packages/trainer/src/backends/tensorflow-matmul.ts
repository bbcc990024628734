/**
 * tfjs-node runs every tfjs matMul as TensorFlow's BatchMatMulV2, even for plain matrices. On
 * the CPU build, BatchMatMulV2 is half as fast as TensorFlow's MatMul for some of the products a
 * linear layer's backward pass asks for: at BERT-base shapes (M = 512-2048 tokens, 768 <-> 3072)
 * dy W with W [768, 3072] ran at 110-150 GFLOP/s against MatMul's 260-295, and the weight
 * gradient dy^T x into [768, 3072] at 130-140 against 275-295; the x W^T forward product was
 * the one case where BatchMatMulV2 stayed ahead (by 5-25 %), so that one keeps it. This kernel
 * replaces tfjs-node's BatchMatMul for the 'tensorflow' backend accordingly (single matrices
 * only; batched attention products keep BatchMatMulV2).
 */
import * as tf from '@tensorflow/tfjs-core';
import { runTensorflowOp } from './tensorflow-ops.js';

/** A matrix, or a batch of exactly one matrix. */
function singleMatrix(x: tf.Tensor): boolean {
  return x.shape.length === 2 || (x.shape.length === 3 && x.shape[0] === 1);
}

function asMatrix(x: tf.Tensor): tf.Tensor {
  return x.shape.length === 2 ? x : tf.reshape(x, x.shape.slice(1));
}

/** Puts the 2-D MatMul routing in front of tfjs-node's own BatchMatMul kernel (once). */
export function routeMatrixProductsToMatMul(): void {
  const original = tf.getKernel(tf.BatchMatMul, 'tensorflow');
  if (!original || (original.kernelFunc as { routed?: boolean }).routed) return;
  const kernelFunc = Object.assign(
    (args: { inputs: tf.NamedTensorInfoMap; attrs?: tf.NamedAttrMap; backend: unknown }) => {
      const { a, b } = args.inputs as { a: tf.Tensor; b: tf.Tensor };
      const { transposeA, transposeB } = args.attrs as { transposeA: boolean; transposeB: boolean };
      if (
        !singleMatrix(a) ||
        !singleMatrix(b) ||
        a.dtype !== 'float32' ||
        (transposeB && !transposeA)
      )
        return original.kernelFunc(args as Parameters<tf.KernelFunc>[0]);
      return tf.tidy(() => {
        const product = runTensorflowOp(
          'MatMul',
          [
            { name: 'T', dtype: 'float32' },
            { name: 'transpose_a', flag: transposeA },
            { name: 'transpose_b', flag: transposeB },
          ],
          [asMatrix(a), asMatrix(b)],
        );
        // tfjs's matMul hands its kernel rank-3 operands ([1, M, K]) and expects rank 3 back.
        return a.shape.length === 3 ? tf.expandDims(product, 0) : product;
      });
    },
    { routed: true },
  );
  tf.unregisterKernel(tf.BatchMatMul, 'tensorflow');
  tf.registerKernel({ ...original, kernelFunc: kernelFunc as tf.KernelFunc });
}
