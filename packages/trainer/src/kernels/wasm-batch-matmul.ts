/**
 * Replaces tfjs-wasm's BatchMatMul for products with a batch dimension (attention's scores and
 * context and their gradients) by the SIMD kernel of batch-matmul.wat, which works directly on
 * tfjs-wasm's heap. tfjs-wasm sends those through a scalar loop (~1 GFLOP/s measured here);
 * plain 2-D products keep tfjs-wasm's XNNPACK path, and transposed or broadcast operands (which
 * this model never asks for: matmul.ts transposes explicitly) keep tfjs-wasm's own kernel.
 */
import * as tf from '@tensorflow/tfjs-core';
import { WASM_BASE64 } from './batch-matmul-wasm.js';

/** The WebAssembly API, a Node global (the project's TypeScript libs do not declare it). */
interface WebAssemblyApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
}
const webAssembly = (globalThis as unknown as { WebAssembly: WebAssemblyApi }).WebAssembly;

interface WasmTensorData {
  memoryOffset: number;
}

/** What this kernel uses of tfjs-wasm's BackendWasm. */
interface WasmBackend {
  /** tfjs-wasm's Emscripten module; `asm.memory` is its WebAssembly.Memory (the heap). */
  wasm: { asm: { memory: object } };
  dataIdMap: { get(dataId: object): WasmTensorData | undefined };
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
}

type BatchMatMulExport = (
  a: number,
  b: number,
  c: number,
  batch: number,
  m: number,
  k: number,
  n: number,
) => void;

let original: tf.KernelConfig | undefined;

/** Installs the kernel on the (initialised) wasm backend; a second call does nothing. */
export function installWasmBatchMatMul(): void {
  if (original) return;
  const backend = tf.findBackend('wasm') as unknown as WasmBackend | null;
  const tfjsKernel = tf.getKernel('BatchMatMul', 'wasm');
  if (!backend || !tfjsKernel) throw new Error('the wasm backend is not initialised');
  const instance = new webAssembly.Instance(
    new webAssembly.Module(Buffer.from(WASM_BASE64, 'base64')),
    { env: { memory: backend.wasm.asm.memory } },
  );
  const batchMatMul = instance.exports.batchMatMul as BatchMatMulExport;
  const offset = (info: tf.TensorInfo) => backend.dataIdMap.get(info.dataId)!.memoryOffset;

  const kernelFunc: tf.KernelFunc = (args) => {
    const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    const { transposeA, transposeB } = args.attrs as { transposeA: boolean; transposeB: boolean };
    const outerA = a.shape.slice(0, -2);
    const outerB = b.shape.slice(0, -2);
    const batch = outerA.reduce((x, y) => x * y, 1);
    const sameOuter =
      outerA.length === outerB.length && outerA.every((size, i) => size === outerB[i]);
    if (
      transposeA ||
      transposeB ||
      !sameOuter ||
      batch <= 1 ||
      a.dtype !== 'float32' ||
      b.dtype !== 'float32'
    )
      return tfjsKernel.kernelFunc(args);
    const [m, k] = a.shape.slice(-2) as [number, number];
    const [kB, n] = b.shape.slice(-2) as [number, number];
    if (k !== kB)
      throw new Error(
        `Error in matMul: inner shapes (${k}) and (${kB}) of Tensors with shapes ${a.shape} and ${b.shape} must match.`,
      );
    const out = backend.makeOutput([...outerA, m, n], 'float32');
    batchMatMul(offset(a), offset(b), offset(out), batch, m, k, n);
    return out;
  };
  tf.unregisterKernel('BatchMatMul', 'wasm');
  tf.registerKernel({ kernelName: 'BatchMatMul', backendName: 'wasm', kernelFunc });
  original = tfjsKernel;
}

/** Puts tfjs-wasm's own BatchMatMul back (comparisons in tests). */
export function uninstallWasmBatchMatMul(): void {
  if (!original) return;
  tf.unregisterKernel('BatchMatMul', 'wasm');
  tf.registerKernel(original);
  original = undefined;
}
