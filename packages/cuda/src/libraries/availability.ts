/**
 * Whether `--backend cuda` can run here, and if not, one line saying what was looked for and
 * where: the driver and a GPU, NVRTC with its builtins, the runtime headers, cuBLASLt. NCCL is
 * optional (multi-GPU falls back to the host ring), so its absence is reported, not fatal.
 */
import {
  discoverCuda,
  type CudaDiscovery,
  type CudaDiscoveryOptions,
  type MissingLibrary,
} from './discovery.js';
import { probeDriver, type GpuInfo } from './driver.js';

/** What `cudaAvailability` found. */
export interface CudaAvailability {
  discovery: CudaDiscovery;
  driverVersion?: string;
  gpus: GpuInfo[];
  /** Set when the engine cannot run: one line. */
  unavailable?: string;
  /** Set when NCCL is missing (gradients then go through the host ring). */
  ncclMissing?: string;
}

const WHAT: Record<MissingLibrary['name'], string> = {
  driver: 'the NVIDIA driver',
  nvrtc: 'NVRTC',
  nvrtcBuiltins: 'the NVRTC builtins',
  cudaHeaders: 'the CUDA runtime headers',
  cublasLt: 'cuBLASLt',
  nccl: 'NCCL',
};

function describe(missing: MissingLibrary): string {
  return `${WHAT[missing.name]} (${missing.lookedFor.join(' or ')}) not in ${missing.searched.join(':') || 'any folder'}`;
}

/**
 * The one-line reason the engine cannot run, or undefined when it can. `driver` is the
 * driver probe's outcome (an error, or the GPUs it sees).
 */
export function cudaUnavailableMessage(
  discovery: CudaDiscovery,
  driver: { error: string } | { gpus: GpuInfo[] },
): string | undefined {
  const reasons: string[] = [];
  if ('error' in driver) reasons.push(driver.error);
  else if (driver.gpus.length === 0)
    reasons.push(
      `the driver sees no GPU (CUDA_VISIBLE_DEVICES=${process.env.CUDA_VISIBLE_DEVICES ?? 'unset'})`,
    );
  for (const missing of discovery.missing)
    if (missing.name !== 'driver' && missing.name !== 'nccl') reasons.push(describe(missing));
  if (reasons.length === 0) return undefined;
  return `--backend cuda cannot run: ${reasons.join('; ')} (set --cuda_home or CUDA_HOME, or NER_LAUNCH_CUDA_PYTHON to a Python with the nvidia-* wheels)`;
}

/** Discovers the libraries, probes the driver and says whether the engine can run. */
export function cudaAvailability(options: CudaDiscoveryOptions = {}): CudaAvailability {
  const discovery = discoverCuda(options);
  const probe = probeDriver(discovery);
  const gpus = 'gpus' in probe ? probe.gpus : [];
  const unavailable = cudaUnavailableMessage(discovery, probe);
  const nccl = discovery.missing.find((m) => m.name === 'nccl');
  return {
    discovery,
    ...('version' in probe ? { driverVersion: probe.version } : {}),
    gpus,
    ...(unavailable ? { unavailable } : {}),
    ...(nccl ? { ncclMissing: describe(nccl) } : {}),
  };
}
