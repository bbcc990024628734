/**
 * libtensorflow through tfjs-node's binding (`ner-launch setup tensorflow`): multi-threaded
 * oneDNN kernels on CPUs, CUDA 12 on GPUs with the GPU build, no heap limit.
 */
import type { BackendProfile } from './profile.js';
import { tensorflowFusedOps } from './tensorflow-fused-ops.js';
import { statelessUniform } from './tensorflow-random.js';

/**
 * A slice costs more here than on wasm (~2,400 op dispatches for MiniLM's forward + backward,
 * and matmuls lose efficiency on few rows), and attention's batched products run at about a
 * third of the dense layers' GFLOP/s rather than wasm's seventeenth. bench/length-groups.ts
 * --backend tensorflow --batch 32 --world 1 (MiniLM, Turku lengths, 10 batches, two runs): 3:300
 * took 0.665 / 0.681 of the unsplit time, wasm's 17:60 0.831, 3:60 0.815, 3:150 0.736, 3:500
 * 0.758, 1:600 0.695 (bench/results/length-groups-tensorflow.json holds the second run).
 */
const TENSORFLOW_SLICE_COSTS = { overheadTokens: 300, attentionSlowdown: 3 };

export const TENSORFLOW_PROFILE: BackendProfile = {
  name: 'tensorflow',
  deviceResident: true,
  lengthGrouping: TENSORFLOW_SLICE_COSTS,
  nativeTransposedMatmul: true,
  uniform: statelessUniform,
  fusedOps: tensorflowFusedOps,
  dataSyncCopies: false,
  precisionNote:
    'tfjs has no float16 dtype, so libtensorflow runs forward and backward in float32 (on Ampere and newer GPUs its float32 matmuls use TF32 tensor cores by default; that is not fp16/bf16 math)',
  memoryHint:
    'use a smaller --batch_size or --max_len, --micro_batch_size, or fewer processes per machine',
};
