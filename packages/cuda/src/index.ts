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
export { CudaDriver, CudaDriverError, type DevicePtr, type GpuInfo } from './libraries/driver.js';
export { loadNvrtc } from './libraries/nvrtc.js';
export type { MatmulShape } from './libraries/cublaslt.js';
export { NcclComm, ncclUniqueId, NCCL_UNIQUE_ID_BYTES } from './libraries/nccl.js';
export { PRECISIONS, type Precision } from './kernels/precision.js';
export { kernelCacheDir } from './kernels/compile.js';
export { KernelSet } from './kernels/kernel-set.js';
export type { KernelArg } from './kernels/kernel-arguments.js';
export type { KernelName } from './kernels/sources.js';
export { HIDDEN_ACTS, parameterShapes, type CudaBertDims, type HiddenAct } from './engine/dims.js';
export { labelledCount, type HostBatch } from './engine/host-batch.js';
export {
  packNamed,
  packWeights,
  unpackNamed,
  unpackWeights,
  type HostTensor,
  type HostWeights,
} from './engine/host-weights.js';
export { ParameterLayout } from './engine/layout.js';
export type { EngineDevice } from './engine/device-api.js';
export {
  CudaBertEngine,
  type CudaAdamWState,
  type CudaBertEngineOptions,
  type CudaParamGroup,
} from './engine/engine.js';
