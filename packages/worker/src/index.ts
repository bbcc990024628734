/** Public surface of @ner-launch/worker. */
export { exitWithParent } from './parent-watch.js';
export {
  envForRank,
  fromEnv,
  isLaunchedWorker,
  toEnv,
  processesPerMachine,
  standaloneWorkerEnv,
  MIXED_PRECISION_VALUES,
  DEFAULT_COLLECTIVE_TIMEOUT_S,
  DEFAULT_MAIN_PROCESS_PORT,
  DEFAULT_RDZV_TIMEOUT_S,
  checkGpuIdsCover,
  WORKER_ENV_NAMES,
  type MixedPrecision,
  type WorkerEnv,
  type WorkerGroupSpec,
} from './worker-env.js';
export {
  Accelerator,
  gradientWireFor,
  type AcceleratorOptions,
  type NamedGradients,
} from './accelerator.js';
export {
  DistributedSampler,
  type DistributedSamplerOptions,
  type SamplerBatch,
} from './distributed-sampler.js';
export {
  CollectiveTimeoutError,
  PeerLostError,
  ProcessGroupError,
  ProtocolError,
  RendezvousRefusedError,
  RendezvousTimeoutError,
  type AllReduceOptions,
  type ProcessGroup,
  type ReduceOp,
  type WireDType,
} from './process-group.js';
export { GrpcProcessGroup, type GrpcProcessGroupOptions } from './grpc-process-group.js';
export { SingleProcessGroup } from './single-process-group.js';
export {
  BucketedReduction,
  GradientBucketer,
  planBuckets,
  DEFAULT_BUCKET_BYTES,
  type GradientReduceOptions,
} from './gradient-buckets.js';
export { allReduceRowSparse } from './row-sparse-reduce.js';
/** Values rounded to a half-precision wire format, as an all-reduce's result is. */
export { roundToHalf, type HalfFormat } from './reduce-kernels.js';
export { runSelfTest, SELF_TEST_SCRIPT, SELF_TEST_SUCCESS } from './self-test.js';
export {
  formatBenchmarkTable,
  parseBenchmarkOptions,
  runAllReduceBenchmark,
  type BenchmarkOptions,
  type BenchmarkReport,
  type BenchmarkRow,
} from './allreduce-benchmark.js';
