/** The wasm backend's heap: its current size and the most it can grow to. */
import * as tf from '@tensorflow/tfjs-core';

/** wasm32's addressable maximum, which tfjs-backend-wasm's heap may grow to. */
export const WASM_HEAP_MAX_BYTES = 4 * 2 ** 30;

interface WasmModuleView {
  wasm?: { HEAPU8?: Uint8Array };
}

/**
 * Current size of the WebAssembly memory backing tfjs-wasm (it only grows, so after a step it
 * is that step's peak, rounded up to the growth step); undefined on other backends.
 */
export function wasmHeapBytes(): number | undefined {
  if (tf.getBackend() !== 'wasm') return undefined;
  const backend = tf.backend() as unknown as WasmModuleView;
  return backend.wasm?.HEAPU8?.buffer.byteLength;
}
