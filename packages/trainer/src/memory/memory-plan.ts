/**
 * The memory plan made before the first step (issue 7): from the model config, the batch size,
 * the longest padded sequence, the backend and the number of local processes, choose how many
 * sentences go through forward + backward at once (gradient accumulation inside the batch,
 * results unchanged) and whether encoder layers are recomputed, so the estimated peak fits the
 * backend's limit; or stop with an error stating the estimate, the limit and what to change.
 * Evaluation and prediction batches get the same treatment for their forward pass.
 */
import { formatBytes, OperationalError } from '@ner-launch/common';
import { totalmem } from 'node:os';
import type { BertConfig } from '../model/config.js';
import { estimateMemory, type MemoryEstimate, type MemoryMode } from './memory-estimate.js';
import { parameterCounts } from '../model/model-size.js';
import type { ConcreteBackend } from '../backends/profile.js';
import { WASM_HEAP_MAX_BYTES } from './wasm-heap.js';

const MiB = 2 ** 20;

/** Room left in the wasm heap for what the estimate does not see (data tensors, fragmentation). */
export const WASM_HEADROOM_BYTES = 384 * MiB;

/** What the plan is made from. */
export interface MemoryPlanInput {
  config: BertConfig;
  /** Sentences per batch per process (the user's batch size). */
  batchSize: number;
  /** Longest padded sequence length of any batch (after bucketing / truncation). */
  seqLen: number;
  /** The backend in use (resolved, not `auto`). */
  backend: ConcreteBackend;
  /** Processes sharing this machine's memory. */
  worldSize: number;
  mode: MemoryMode;
  /** Overrides the backend's limit (bytes), e.g. to test or to leave room for other work. */
  limitBytes?: number;
  /** Forces this micro-batch size instead of choosing one. */
  microBatchSize?: number;
  /** Forces recomputation on or off (default auto: on only when micro-batching is not enough). */
  recompute?: 'auto' | 'on' | 'off';
  /** System memory (default os.totalmem()), for tensorflow/cpu and the host-side check. */
  systemMemoryBytes?: number;
}

/** The decision: rows per forward/backward, recomputation, and the figures behind it. */
export interface MemoryPlan {
  mode: MemoryMode;
  batchSize: number;
  seqLen: number;
  /** Sentences per forward + backward; < batchSize means accumulation inside the batch. */
  microBatchSize: number;
  /** Slices per batch (ceil(batchSize / microBatchSize)). */
  accumulationSteps: number;
  recompute: boolean;
  /** Estimated peak of the limited memory (heap / device / system) per process. */
  estimateBytes: number;
  limitBytes: number;
  /** What the limit is (for messages). */
  limitName: string;
  estimate: MemoryEstimate;
  /** The estimate of the requested batch without micro-batching or recomputation. */
  fullBatchEstimateBytes: number;
}

/** No micro-batch size and recomputation choice fits: the user must change something. */
export class MemoryPlanError extends OperationalError {
  constructor(
    message: string,
    readonly estimateBytes: number,
    readonly limitBytes: number,
  ) {
    super(message);
    this.name = 'MemoryPlanError';
  }
}

function backendLimit(input: MemoryPlanInput): { bytes: number; name: string } {
  const system = input.systemMemoryBytes ?? totalmem();
  const perProcess = Math.floor((0.85 * system) / Math.max(1, input.worldSize));
  if (input.limitBytes !== undefined)
    return { bytes: input.limitBytes, name: 'the given memory limit' };
  switch (input.backend) {
    case 'wasm':
      return {
        bytes: Math.min(WASM_HEAP_MAX_BYTES - WASM_HEADROOM_BYTES, perProcess),
        name: `the wasm heap (4 GiB less ${formatBytes(WASM_HEADROOM_BYTES)} headroom${perProcess < WASM_HEAP_MAX_BYTES - WASM_HEADROOM_BYTES ? `, capped by system memory / ${input.worldSize} processes` : ''})`,
      };
    case 'tensorflow':
    case 'cpu':
      return {
        bytes: perProcess,
        name: `system memory (85% of ${formatBytes(system)} / ${input.worldSize} process(es))`,
      };
  }
}

function fits(input: MemoryPlanInput, rows: number, recompute: boolean, limit: number) {
  const estimate = estimateMemory(input.config, {
    rows,
    seqLen: input.seqLen,
    mode: input.mode,
    recompute,
  });
  // Outside wasm's heap, AdamW moments and gradient accumulators share the same memory.
  const needed =
    input.backend === 'wasm' ? estimate.heapBytes : estimate.heapBytes + estimate.hostBytes;
  return { ok: needed <= limit, estimate };
}

/** Chooses micro-batch size and recomputation for `input`; throws MemoryPlanError if none fits. */
export function planMemory(input: MemoryPlanInput): MemoryPlan {
  if (!(input.batchSize >= 1) || !(input.seqLen >= 1))
    throw new Error(
      `memory plan: batch size and sequence length must be >= 1 (got ${input.batchSize} x ${input.seqLen})`,
    );
  const limit = backendLimit(input);
  const full = estimateMemory(input.config, {
    rows: input.batchSize,
    seqLen: input.seqLen,
    mode: input.mode,
    recompute: false,
  });
  const recomputeChoices =
    input.mode === 'eval' || input.recompute === 'off'
      ? [false]
      : input.recompute === 'on'
        ? [true]
        : [false, true];
  // Balanced slices: 16 rows in 4 slices is 4 x 4, not 5 + 5 + 5 + 1.
  const sizes =
    input.microBatchSize !== undefined
      ? [Math.min(input.microBatchSize, input.batchSize)]
      : [
          ...new Set(
            Array.from({ length: input.batchSize }, (_, k) => Math.ceil(input.batchSize / (k + 1))),
          ),
        ];
  // Among the choices that fit, the cheapest by a rough cost model: recomputation repeats the
  // forward pass (+1/3 of the compute), and every slice pays parameter-sized work (weight
  // transposes in the heap, gradient accumulation on the host, ~30 flop-equivalents each).
  const { total } = parameterCounts(input.config);
  const perSentence = 6 * total * input.seqLen;
  let chosen:
    { rows: number; recompute: boolean; estimate: MemoryEstimate; cost: number } | undefined;
  for (const recompute of recomputeChoices)
    for (const rows of sizes) {
      const { ok, estimate } = fits(input, rows, recompute, limit.bytes);
      if (!ok) continue;
      const slices = Math.ceil(input.batchSize / rows);
      const cost = input.batchSize * perSentence * (recompute ? 4 / 3 : 1) + slices * 30 * total;
      if (!chosen || cost < chosen.cost) chosen = { rows, recompute, estimate, cost };
      break; // smaller micro-batches with the same recompute choice only cost more
    }
  if (chosen)
    return {
      mode: input.mode,
      batchSize: input.batchSize,
      seqLen: input.seqLen,
      microBatchSize: chosen.rows,
      accumulationSteps: Math.ceil(input.batchSize / chosen.rows),
      recompute: chosen.recompute,
      estimateBytes: chosen.estimate.heapBytes,
      limitBytes: limit.bytes,
      limitName: limit.name,
      estimate: chosen.estimate,
      fullBatchEstimateBytes: full.heapBytes,
    };
  const smallestRows = sizes[sizes.length - 1]!;
  const best = fits(
    input,
    smallestRows,
    recomputeChoices[recomputeChoices.length - 1]!,
    limit.bytes,
  ).estimate;
  const what = input.mode === 'train' ? 'training' : 'evaluation';
  const tried =
    input.microBatchSize !== undefined
      ? `micro-batch ${smallestRows}`
      : `down to 1 sentence at a time${recomputeChoices.includes(true) ? ' with layer recomputation' : ''}`;
  throw new MemoryPlanError(
    `Memory plan: ${what} at ${input.batchSize} x ${input.seqLen} tokens does not fit on backend ${input.backend}: ` +
      `estimated peak ${formatBytes(best.heapBytes)} per process even ${tried} ` +
      `(parameters ${formatBytes(best.parameterBytes)}, activations ${formatBytes(best.activationBytes)}), ` +
      `limit ${formatBytes(limit.bytes)} (${limit.name}). ` +
      `Change: a shorter --max_len, a smaller model (fewer layers / hidden size)` +
      `${input.backend === 'wasm' ? ', or a backend with more memory (--backend tensorflow)' : ', or fewer processes per machine'}` +
      `${input.microBatchSize !== undefined ? ', or let the plan choose the micro-batch size' : ''}.`,
    best.heapBytes,
    limit.bytes,
  );
}

/** One log line describing the plan. */
export function describePlan(plan: MemoryPlan): string {
  const what = plan.mode === 'train' ? 'training' : 'evaluation';
  const base = `Memory plan (${what}, ${plan.batchSize} x ${plan.seqLen}): estimated peak ${formatBytes(plan.estimateBytes)} of ${formatBytes(plan.limitBytes)} (${plan.limitName})`;
  const host =
    plan.estimate.hostBytes > 0
      ? `; host state outside the heap ${formatBytes(plan.estimate.hostBytes)}`
      : '';
  if (plan.microBatchSize === plan.batchSize && !plan.recompute)
    return `${base}${host}; full batch fits`;
  return (
    `${base}${host}; the full batch would need ${formatBytes(plan.fullBatchEstimateBytes)}, so it runs ` +
    `${plan.microBatchSize} sentence(s) at a time (${plan.accumulationSteps} slices accumulated, same result)` +
    `${plan.recompute ? ' with per-layer activation recomputation' : ''}`
  );
}
