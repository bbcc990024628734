/**
 * Picks the WebGPU adapter a worker must use. Vulkan ignores CUDA_VISIBLE_DEVICES, so the
 * worker maps its CUDA id to an adapter itself: CUDA (with CUDA_DEVICE_ORDER=PCI_BUS_ID, and
 * nvidia-smi always) numbers GPUs by PCI bus id, and the Linux Vulkan loader sorts discrete
 * GPUs by PCI bus id too, so the k-th NVIDIA GPU by bus id is the k-th NVIDIA Vulkan adapter.
 * Dawn's node binding can only pick an adapter by (a substring of) its name (`adapter=NAME`,
 * first match wins), so the plan says whether the pick is exact or impossible.
 */
import { execFileSync } from 'node:child_process';

/** One adapter as Dawn lists it, in Dawn's enumeration order. */
export interface AdapterEntry {
  backend: string;
  name: string;
}

/** One GPU as nvidia-smi lists it. */
export interface NvidiaGpu {
  index: number;
  pciBusId: string;
  name: string;
}

/** Outcome of the selection: the Dawn flags to create the GPU with, and what it means. */
export interface AdapterPlan {
  /** Flags for `create()` of the npm `webgpu` package. */
  flags: string[];
  /** The adapter this worker will use, or undefined when Dawn's default is used. */
  adapter?: AdapterEntry;
  /** Position among the GPU adapters (PCI bus order). */
  ordinal?: number;
  /** One line for the log: which adapter this rank uses and why. */
  description: string;
}

/** Dawn flag always passed: exposes experimental features such as subgroups. */
export const BASE_DAWN_FLAGS: readonly string[] = ['enable-dawn-features=allow_unsafe_apis'];

const SOFTWARE_ADAPTER = /llvmpipe|lavapipe|swiftshader|software|microsoft basic render/i;

/** True for CPU/software rasterisers and Dawn's null backend (never chosen by `auto`). */
export function isSoftwareAdapter(entry: AdapterEntry): boolean {
  return entry.backend === 'null' || SOFTWARE_ADAPTER.test(entry.name);
}

/** Parses Dawn's "Available adapters:" listing (` * backend: 'vulkan', name: 'NVIDIA H100'`). */
export function parseAdapterListing(text: string): AdapterEntry[] {
  const out: AdapterEntry[] = [];
  for (const match of text.matchAll(/\*\s*backend:\s*'([^']*)',\s*name:\s*'([^']*)'/g))
    out.push({ backend: match[1], name: match[2] });
  return out;
}

/** Parses `nvidia-smi --query-gpu=index,pci.bus_id,name --format=csv,noheader`. */
export function parseNvidiaSmi(csv: string): NvidiaGpu[] {
  const gpus: NvidiaGpu[] = [];
  csv.split('\n').forEach((line, i) => {
    const trimmed = line.trim();
    if (trimmed === '' || /^index\b/i.test(trimmed)) return;
    const [index, pciBusId, ...rest] = trimmed.split(',').map((s) => s.trim());
    const n = Number(index);
    if (!Number.isInteger(n) || !pciBusId)
      throw new Error(
        `nvidia-smi output line ${i + 1}: expected "index, pci.bus_id, name", got "${trimmed}"`,
      );
    gpus.push({ index: n, pciBusId: pciBusId.toLowerCase(), name: rest.join(',').trim() });
  });
  return gpus;
}

/** nvidia-smi's GPU list, or undefined where nvidia-smi is missing or fails. */
export function queryNvidiaSmi(): NvidiaGpu[] | undefined {
  try {
    const out = execFileSync(
      'nvidia-smi',
      ['--query-gpu=index,pci.bus_id,name', '--format=csv,noheader'],
      { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'ignore'] },
    );
    return parseNvidiaSmi(out);
  } catch {
    return undefined;
  }
}

/**
 * The one CUDA id this worker was given (CUDA_VISIBLE_DEVICES as the launcher sets it), or
 * undefined when unset/empty. Refuses lists and UUIDs: a WebGPU worker uses one GPU.
 */
export function cudaIdFromEnv(value: string | undefined): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const trimmed = value.trim();
  if (!/^\d+$/.test(trimmed))
    throw new Error(
      `CUDA_VISIBLE_DEVICES="${value}": a WebGPU worker needs exactly one numeric GPU id (set by --gpu_ids)`,
    );
  return Number(trimmed);
}

/** Inputs of `planAdapter`. */
export interface AdapterSelectionInput {
  /** Dawn's adapters in its enumeration order. */
  adapters: AdapterEntry[];
  /** The CUDA id this worker should use; undefined: Dawn's default choice. */
  cudaId?: number;
  /** nvidia-smi's list where available (its index order is the CUDA PCI-bus order). */
  nvidiaGpus?: NvidiaGpu[];
  /** Fall back to a software adapter when no hardware one exists (`--backend webgpu` asked explicitly). */
  allowSoftware?: boolean;
}

/** Decides which adapter this worker uses and how to make Dawn pick it. */
export function planAdapter(input: AdapterSelectionInput): AdapterPlan {
  const hardware = input.adapters.filter((a) => !isSoftwareAdapter(a));
  if (input.cudaId === undefined) {
    const first = hardware[0] ?? (input.allowSoftware ? input.adapters[0] : undefined);
    if (!first) return { flags: [...BASE_DAWN_FLAGS], description: 'no hardware WebGPU adapter' };
    const kind = isSoftwareAdapter(first)
      ? 'software adapter: no hardware one found'
      : 'first hardware adapter';
    return {
      flags: [...BASE_DAWN_FLAGS, `adapter=${first.name}`],
      adapter: first,
      ordinal: 0,
      description: `adapter 0 '${first.name}' (${first.backend}; no GPU id given: ${kind})`,
    };
  }
  const cudaId = input.cudaId;
  // Ordinal of this GPU in PCI bus order, and its name when nvidia-smi tells us.
  let ordinal = cudaId;
  let expectedName: string | undefined;
  if (input.nvidiaGpus && input.nvidiaGpus.length > 0) {
    const byBus = [...input.nvidiaGpus].sort((a, b) => a.pciBusId.localeCompare(b.pciBusId));
    const pos = byBus.findIndex((g) => g.index === cudaId);
    if (pos < 0)
      throw new Error(
        `GPU id ${cudaId} (CUDA_VISIBLE_DEVICES) is not among nvidia-smi's GPUs ${input.nvidiaGpus.map((g) => g.index).join(',')}`,
      );
    ordinal = pos;
    expectedName = byBus[pos].name;
  }
  // Vulkan adapters of NVIDIA GPUs, in loader order (= PCI bus order); Dawn may list the same
  // GPU under several backends (vulkan, opengles), so prefer Vulkan entries.
  const vulkan = hardware.filter((a) => a.backend === 'vulkan');
  const candidates = vulkan.length > 0 ? vulkan : hardware;
  const nvidia = expectedName ? candidates.filter((a) => a.name.includes('NVIDIA')) : candidates;
  const pool = nvidia.length > 0 ? nvidia : candidates;
  const target = pool[ordinal];
  if (!target)
    throw new Error(
      `GPU id ${cudaId}: only ${pool.length} WebGPU adapter(s) found (${pool.map((a) => `'${a.name}'`).join(', ') || 'none'}); check --gpu_ids`,
    );
  if (expectedName && !target.name.includes(expectedName) && !expectedName.includes(target.name))
    throw new Error(
      `GPU id ${cudaId} is '${expectedName}' per nvidia-smi but WebGPU adapter ${ordinal} is '${target.name}': adapter order does not follow PCI bus order here`,
    );
  // Dawn takes the first adapter whose name contains the flag's value: exact only when no
  // earlier adapter has a name containing it.
  const earlierSame = pool.slice(0, ordinal).filter((a) => a.name.includes(target.name));
  if (earlierSame.length > 0)
    throw new Error(
      `GPU id ${cudaId} is adapter ${ordinal} '${target.name}', but ${earlierSame.length} earlier adapter(s) share that name and Dawn's node binding picks adapters by name only (first match). ` +
        'WebGPU cannot pin this GPU: use --backend tensorflow (tfjs-node-gpu honours CUDA_VISIBLE_DEVICES), or --gpu_ids 0,0,... to share GPU 0 knowingly.',
    );
  return {
    flags: [...BASE_DAWN_FLAGS, `adapter=${target.name}`],
    adapter: target,
    ordinal,
    description: `adapter ${ordinal} '${target.name}' (${target.backend}) for GPU id ${cudaId}${expectedName ? ' (PCI bus order from nvidia-smi)' : ' (adapter order)'}`,
  };
}
