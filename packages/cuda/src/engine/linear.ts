/**
 * nn.Linear on row-major tensors through cuBLASLt's column-major GEMM: y = x W^T + b with the
 * bias epilogue; backward dx = dy W (optionally added to dx), dW += dy^T x in fp32, db += column
 * sums of dy (activation.cu's bias_backward).
 */
import type { DevicePtr } from '../libraries/driver.js';
import type { StepContext } from './step-context.js';

/** y [M, out] = x [M, in] W^T + b, W [out, in]. */
export function linearForward(
  ctx: StepContext,
  y: DevicePtr,
  x: DevicePtr,
  weight: DevicePtr,
  bias: DevicePtr,
  rows: number,
  inF: number,
  outF: number,
): void {
  const t = ctx.xType;
  ctx.blas.matmul(
    {
      transA: true,
      transB: false,
      m: outF,
      n: rows,
      k: inF,
      lda: inF,
      ldb: inF,
      ldc: outF,
      aType: t,
      bType: t,
      cType: t,
      bias: true,
    },
    weight,
    x,
    y,
    1,
    0,
    bias,
  );
}

/** Gradients of linearForward: dx (= or +=), dW +=, db +=. */
export function linearBackward(
  ctx: StepContext,
  g: { dx: DevicePtr; dWeight: DevicePtr; dBias: DevicePtr; accumulateDx: boolean },
  dy: DevicePtr,
  x: DevicePtr,
  weight: DevicePtr,
  rows: number,
  inF: number,
  outF: number,
): void {
  const t = ctx.xType;
  ctx.blas.matmul(
    {
      transA: false,
      transB: false,
      m: inF,
      n: rows,
      k: outF,
      lda: inF,
      ldb: outF,
      ldc: inF,
      aType: t,
      bType: t,
      cType: t,
    },
    weight,
    dy,
    g.dx,
    1,
    g.accumulateDx ? 1 : 0,
  );
  ctx.blas.matmul(
    {
      transA: false,
      transB: true,
      m: inF,
      n: outF,
      k: rows,
      lda: inF,
      ldb: outF,
      ldc: inF,
      aType: t,
      bType: t,
      cType: 'f32',
    },
    x,
    dy,
    g.dWeight,
    1,
    1,
  );
  const rowsPerBlock = 256;
  ctx.kernels.launch(
    'bias_backward',
    [Math.ceil(outF / 32), Math.ceil(rows / rowsPerBlock), 1],
    [32, 8, 1],
    [g.dBias, dy, rows, outF, rowsPerBlock],
  );
}
