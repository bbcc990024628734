/** Public surface of @ner-launch/cuda: BERT token classification on NVIDIA GPUs through CUDA's own libraries. */
export {
  discoverCuda,
  candidateDirs,
  DEFAULT_SYSTEM_DIRS,
  type CudaDiscovery,
  type CudaDiscoveryOptions,
  type CudaLibraryName,
  type FoundLibrary,
  type MissingLibrary,
} from './libraries/discovery.js';
export {
  cudaAvailability,
  cudaUnavailableMessage,
  type CudaAvailability,
} from './libraries/availability.js';
export { CudaLibraryError } from './libraries/load-library.js';
export { CudaDriverError, type GpuInfo } from './libraries/driver.js';
export { NcclComm, ncclUniqueId, NCCL_UNIQUE_ID_BYTES } from './libraries/nccl.js';
export { PRECISIONS, type Precision } from './kernels/precision.js';
export { kernelCacheDir } from './kernels/compile.js';
export { HIDDEN_ACTS, type CudaBertDims, type HiddenAct } from './engine/dims.js';
export type { HostBatch } from './engine/host-batch.js';
export type { HostTensor, HostWeights } from './engine/host-weights.js';
export {
  CudaBertEngine,
  type CudaAdamWState,
  type CudaBertEngineOptions,
  type CudaParamGroup,
} from './engine/engine.js';
