/** tfjs-wasm: the zero-install CPU default; one thread per process, a heap of at most 4 GB. */
import type { BackendProfile } from './profile.js';

export const WASM_PROFILE: BackendProfile = {
  name: 'wasm',
  // Gradients and AdamW moments stay outside the 4 GB heap; parameters are rewritten in place.
  deviceResident: false,
  lengthGrouping: true,
  nativeTransposedMatmul: false,
  dataSyncCopies: true,
  precisionNote: 'the wasm backend has no half-precision math: forward and backward run in float32',
  memoryHint:
    'run more, smaller micro-batches (--micro_batch_size), shorter --max_len, or --backend tensorflow (no heap limit; `ner-launch setup tensorflow`)',
};
