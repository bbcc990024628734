/**
 * The fused CPU kernels of tensorflow-fused-ops.cc as tfjs ops with gradients: LayerNorm, exact
 * GELU, dropout and the AdamW update, each one pass over memory instead of one TensorFlow kernel per
 * elementwise step. Available when `ner-launch setup tensorflow` built the library into the
 * install and the loader loaded it; otherwise the model keeps tfjs's composite ops (same
 * formulas, float32 rounding apart).
 */
import * as tf from '@tensorflow/tfjs-core';
import { runTensorflowOp, runTensorflowOpOutputs } from './tensorflow-ops.js';

/** The fused operations a backend profile may offer (see profile.ts). */
export interface FusedOps {
  layerNorm(x: tf.Tensor, weight: tf.Tensor, bias: tf.Tensor, eps: number): tf.Tensor;
  gelu(x: tf.Tensor): tf.Tensor;
  /** Inverted dropout whose mask is a function of `seed` and the element's position. */
  dropout(x: tf.Tensor, rate: number, seed: number): tf.Tensor;
  /**
   * One AdamW update; `constants` = [1 - lr wd, 1 - beta1, beta2, 1 - beta2,
   * sqrt(1 - beta2^t), eps, -lr / (1 - beta1^t)], each rounded to float32.
   */
  adamw(
    param: tf.Tensor,
    grad: tf.Tensor,
    m: tf.Tensor,
    v: tf.Tensor,
    constants: readonly number[],
  ): { param: tf.Tensor; m: tf.Tensor; v: tf.Tensor };
}

function layerNormWithGradient(eps: number) {
  return tf.customGrad((...inputs: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [x, weight, bias, save] = inputs as [tf.Tensor, tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    const [y, mean, inverseStd] = runTensorflowOpOutputs(
      'NerLayerNorm',
      [{ name: 'epsilon', float: eps }],
      [x, weight, bias],
      3,
    ) as [tf.Tensor, tf.Tensor, tf.Tensor];
    save([x, mean, inverseStd, weight]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
        runTensorflowOpOutputs('NerLayerNormGrad', [], [dy, ...saved], 3),
    };
  });
}

const layerNormByEps = new Map<number, ReturnType<typeof layerNormWithGradient>>();

const gelu = tf.customGrad((...inputs: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [x, save] = inputs as [tf.Tensor, tf.GradSaveFunc];
  save([x]);
  return {
    value: runTensorflowOp('NerGelu', [], [x]),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
      runTensorflowOp('NerGeluGrad', [], [dy, saved[0]!]),
  };
});

/** x / (1 - rate) or 0 per element, by the (seed, position) hash; the backward pass reuses it. */
function dropout(x: tf.Tensor, rate: number, seed: number): tf.Tensor {
  const apply = (t: tf.Tensor) =>
    tf.tidy(() =>
      runTensorflowOp(
        'NerDropout',
        [{ name: 'rate', float: rate }],
        [t, tf.tensor1d([seed | 0], 'int32')],
      ),
    );
  return tf.customGrad((...inputs: (tf.Tensor | tf.GradSaveFunc)[]) => ({
    value: apply(inputs[0] as tf.Tensor),
    gradFunc: (dy: tf.Tensor) => apply(dy),
  }))(x);
}

const TENSORFLOW_FUSED_OPS: FusedOps = {
  layerNorm(x, weight, bias, eps) {
    let op = layerNormByEps.get(eps);
    if (!op) layerNormByEps.set(eps, (op = layerNormWithGradient(eps)));
    return op(x, weight, bias);
  },
  gelu: (x) => gelu(x),
  dropout,
  adamw(param, grad, m, v, constants) {
    const [updated, nextM, nextV] = tf.tidy(() =>
      runTensorflowOpOutputs('NerAdamW', [], [param, grad, m, v, tf.tensor1d([...constants])], 3),
    ) as [tf.Tensor, tf.Tensor, tf.Tensor];
    return { param: updated, m: nextM, v: nextV };
  },
};

let libraryLoaded = false;
let available: boolean | undefined;
// NER_LAUNCH_FUSED_OPS=0 keeps tfjs's composite ops (to rule the kernels out when debugging).
let enabled = process.env.NER_LAUNCH_FUSED_OPS !== '0';

/** Switches the fused kernels off or back on (the composite ops compute the same formulas). */
export function setFusedOpsEnabled(value: boolean): void {
  enabled = value;
}

/** Called by the loader once it has loaded the library (ops registered, if all went well). */
export function markFusedOpsLibraryLoaded(): void {
  libraryLoaded = true;
}

/**
 * The fused ops, if the library is loaded and its ops run (probed once, on the tensorflow
 * backend: a registration that failed leaves them unknown to TensorFlow).
 */
export function tensorflowFusedOps(): FusedOps | undefined {
  if (!enabled) return undefined;
  if (available === undefined) {
    if (!libraryLoaded) return undefined;
    try {
      // NerAdamW is registered last: present means the whole set is.
      const one = () => tf.tensor1d([1]);
      tf.tidy(() =>
        runTensorflowOpOutputs(
          'NerAdamW',
          [],
          [one(), one(), one(), one(), tf.tensor1d([1, 0.1, 0.9, 0.1, 1, 1e-8, -1e-3])],
          3,
        ),
      );
      available = true;
    } catch {
      available = false;
    }
  }
  return available ? TENSORFLOW_FUSED_OPS : undefined;
}
