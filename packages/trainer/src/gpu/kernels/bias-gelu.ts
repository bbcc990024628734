/**
 * Fused bias + GELU (BERT's intermediate layer, erf form): y = gelu(x + b) for x [rows, n],
 * b [n], one pass instead of add + the ~8 kernels tfjs builds GELU from. The backward kernel
 * gives dx = dy · gelu'(x + b); the bias gradient is its column sum (tf.sum over rows).
 */
import * as tf from '@tensorflow/tfjs-core';

import { WGSL_ERF, erf64 } from './erf.js';
import { dispatchFor, runProgram, type WebgpuProgram } from './webgpu-program.js';

const WORKGROUP = 256;

/** Forward (`backward` false: inputs X, Bias → y) or backward (inputs X, Bias, Dy → dx). */
export class BiasGeluProgram implements WebgpuProgram {
  variableNames: string[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout = { x: [0, 1] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [WORKGROUP, 1, 1];
  size = true;
  uniforms = 'cols : i32,';

  constructor(
    rows: number,
    cols: number,
    readonly backward: boolean,
  ) {
    this.variableNames = backward ? ['X', 'Bias', 'Dy'] : ['X', 'Bias'];
    this.outputShape = [rows, cols];
    this.shaderKey = backward ? 'ner_bias_gelu_bwd' : 'ner_bias_gelu_fwd';
    this.dispatch = dispatchFor(Math.ceil((rows * cols) / WORKGROUP));
  }

  getUserCode(): string {
    const body = this.backward
      ? `let cdf = 0.5 * (1.0 + nerErf(u * 0.7071067811865476));
         let pdf = 0.3989422804014327 * exp(-0.5 * u * u);
         result[index] = Dy[index] * (cdf + u * pdf);`
      : `result[index] = 0.5 * u * (1.0 + nerErf(u * 0.7071067811865476));`;
    return `
      ${WGSL_ERF}
      fn main(index : i32) {
        if (index >= uniforms.size) { return; }
        let u = X[index] + Bias[index % uniforms.cols];
        ${body}
      }
    `;
  }
}

function shapeOf(x: tf.Tensor, bias: tf.Tensor): [number, number] {
  const cols = bias.size;
  if (x.size % cols !== 0)
    throw new RangeError(
      `bias+GELU: x of shape [${x.shape}] does not end in the bias length ${cols}`,
    );
  return [x.size / cols, cols];
}

/** gelu(x + bias) on WebGPU, shape of x. */
export function biasGeluWebgpu(x: tf.Tensor, bias: tf.Tensor1D): tf.Tensor {
  const [rows, cols] = shapeOf(x, bias);
  const y = runProgram(
    new BiasGeluProgram(rows, cols, false),
    [x, bias],
    [{ type: 'int32', data: [cols] }],
  );
  return tf.reshape(y, x.shape);
}

/** dL/dx of gelu(x + bias) on WebGPU given dy (dL/dbias = tf.sum(dx, rows)). */
export function biasGeluBackwardWebgpu(x: tf.Tensor, bias: tf.Tensor1D, dy: tf.Tensor): tf.Tensor {
  const [rows, cols] = shapeOf(x, bias);
  const dx = runProgram(
    new BiasGeluProgram(rows, cols, true),
    [x, bias, dy],
    [{ type: 'int32', data: [cols] }],
  );
  return tf.reshape(dx, x.shape);
}

/** CPU reference (float64): y = gelu(x + b), x row-major [rows, cols]. */
export function biasGeluReference(x: ArrayLike<number>, bias: ArrayLike<number>): Float64Array {
  const cols = bias.length;
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const u = x[i] + bias[i % cols];
    out[i] = 0.5 * u * (1 + erf64(u / Math.SQRT2));
  }
  return out;
}

/** CPU reference (float64) of the backward: dx = dy · (Φ(u) + u·φ(u)), u = x + b. */
export function biasGeluBackwardReference(
  x: ArrayLike<number>,
  bias: ArrayLike<number>,
  dy: ArrayLike<number>,
): Float64Array {
  const cols = bias.length;
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const u = x[i] + bias[i % cols];
    const cdf = 0.5 * (1 + erf64(u / Math.SQRT2));
    const pdf = Math.exp(-0.5 * u * u) / Math.sqrt(2 * Math.PI);
    out[i] = dy[i] * (cdf + u * pdf);
  }
  return out;
}
