/**
 * Lists Dawn's adapters through the npm `webgpu` package and applies `planAdapter` for this
 * worker. Dawn has no enumeration API in its node binding; asking for an adapter name that
 * cannot exist makes it answer with its "Available adapters:" listing, which we parse.
 */
import { log } from '@ner-launch/worker';
import {
  BASE_DAWN_FLAGS,
  cudaIdFromEnv,
  parseAdapterListing,
  planAdapter,
  queryNvidiaSmi,
  type AdapterEntry,
  type AdapterPlan,
} from './adapter-selection.js';

/** The part of the npm `webgpu` module we use. */
export interface DawnModule {
  create(flags: string[]): {
    requestAdapter(
      options?: unknown,
    ): Promise<{ info?: { device?: string; description?: string } } | null>;
  };
  globals: Record<string, unknown>;
}

const NO_SUCH_ADAPTER = 'ner-launch-adapter-listing-probe';

/** Dawn's adapters in enumeration order (empty when there are none). */
export async function enumerateDawnAdapters(dawn: DawnModule): Promise<AdapterEntry[]> {
  const gpu = dawn.create([...BASE_DAWN_FLAGS, `adapter=${NO_SUCH_ADAPTER}`]);
  let listing = '';
  try {
    await gpu.requestAdapter();
  } catch (error) {
    listing = String(error instanceof Error ? error.message : error);
  }
  const parsed = parseAdapterListing(listing);
  if (parsed.length > 0) return parsed;
  // Builds that resolve null instead of listing: fall back to the default adapter alone.
  const adapter = await dawn.create([...BASE_DAWN_FLAGS]).requestAdapter();
  if (!adapter) return [];
  const name = adapter.info?.description || adapter.info?.device || 'unknown adapter';
  return [{ backend: 'vulkan', name }];
}

/** Plans this worker's adapter from CUDA_VISIBLE_DEVICES and nvidia-smi, and logs it. */
export async function selectWebgpuAdapter(
  dawn: DawnModule,
  allowSoftware: boolean,
  env: NodeJS.ProcessEnv = process.env,
): Promise<AdapterPlan> {
  const adapters = await enumerateDawnAdapters(dawn);
  const cudaId = cudaIdFromEnv(env.CUDA_VISIBLE_DEVICES);
  const plan = planAdapter({
    adapters,
    cudaId,
    nvidiaGpus: cudaId === undefined ? undefined : queryNvidiaSmi(),
    allowSoftware,
  });
  log.info(
    { rank: env.RANK ?? '0', adapters: adapters.map((a) => `${a.backend}:${a.name}`) },
    `WebGPU uses ${plan.description}`,
  );
  return plan;
}
