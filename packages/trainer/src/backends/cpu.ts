/** tfjs's pure-JavaScript kernels: slow, but the reference the other backends are checked against. */
import { WASM_SLICE_COSTS } from './wasm.js';
import type { BackendProfile } from './profile.js';

export const CPU_PROFILE: BackendProfile = {
  name: 'cpu',
  deviceResident: false,
  lengthGrouping: WASM_SLICE_COSTS,
  nativeTransposedMatmul: false,
  dataSyncCopies: false,
  precisionNote: 'the cpu backend has no half-precision math: forward and backward run in float32',
  memoryHint: 'use a smaller --batch_size or --max_len, or --micro_batch_size',
};
