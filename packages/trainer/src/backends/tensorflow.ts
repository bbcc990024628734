/**
 * libtensorflow through tfjs-node's binding (`ner-launch setup tensorflow`): multi-threaded
 * oneDNN kernels on CPUs, CUDA 12 on GPUs with the GPU build, no heap limit.
 */
import type { BackendProfile } from './profile.js';
import { tensorflowFusedOps } from './tensorflow-fused-ops.js';
import { statelessUniform } from './tensorflow-random.js';

export const TENSORFLOW_PROFILE: BackendProfile = {
  name: 'tensorflow',
  deviceResident: true,
  lengthGrouping: true,
  nativeTransposedMatmul: true,
  uniform: statelessUniform,
  fusedOps: tensorflowFusedOps,
  dataSyncCopies: false,
  precisionNote:
    'tfjs has no float16 dtype, so libtensorflow runs forward and backward in float32 (on Ampere and newer GPUs its float32 matmuls use TF32 tensor cores by default; that is not fp16/bf16 math)',
  memoryHint:
    'use a smaller --batch_size or --max_len, --micro_batch_size, or fewer processes per machine',
};
