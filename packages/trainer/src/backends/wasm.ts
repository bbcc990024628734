/** tfjs-wasm: the zero-install CPU default; one thread per process, a heap of at most 4 GB. */
import type { BackendProfile, SliceCostConstants } from './profile.js';

/**
 * tfjs-wasm's constants. Fixed cost: MiniLM training steps on six Turku-length batches of 16
 * (2-core machine under load) took 0.51 of the unsplit batches' time at 60, 0.54 at 25 (too
 * many slices); before linear layers cached their weight transposes a slice cost ~0.6 s (~130
 * tokens) and 50-120 did best. Attention: measured when tfjs-wasm ran it in a scalar loop
 * (~0.8-1.2 GFLOP/s against ~14-17 GFLOP/s for the XNNPACK dense layers); our SIMD kernel
 * narrowed that gap, but slicing hardly depends on it: on 12 Turku-length batches, slowdowns
 * 2, 4 and 17 (fixed cost 30-90 tokens) all ran in 0.52-0.54 of the unsplit time
 * (bench/results/length-groups.json), so it stays. Both the slice cost and a token's cost scale
 * with the weight count, so the constants carry over to bert-base.
 */
export const WASM_SLICE_COSTS: SliceCostConstants = { overheadTokens: 60, attentionSlowdown: 17 };

export const WASM_PROFILE: BackendProfile = {
  name: 'wasm',
  // Gradients and AdamW moments stay outside the 4 GB heap; parameters are rewritten in place.
  deviceResident: false,
  lengthGrouping: WASM_SLICE_COSTS,
  nativeTransposedMatmul: false,
  dataSyncCopies: true,
  precisionNote: 'the wasm backend has no half-precision math: forward and backward run in float32',
  memoryHint:
    'run more, smaller micro-batches (--micro_batch_size), shorter --max_len, or --backend tensorflow (no heap limit; `ner-launch setup tensorflow`)',
};
