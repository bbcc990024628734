/**
 * Turns heap exhaustion that still happens (the plan is an estimate) into an error naming the
 * step, the batch shape and the plan's estimate, instead of tfjs-wasm's bare
 * `RuntimeError: memory access out of bounds` or `Aborted()`. After such a failure the wasm
 * module is unusable, so the error is meant to end the process (non-zero exit; a distributed
 * run stops all workers as for any failure).
 */
import { OperationalError } from '@ner-launch/common';
import { formatBytes } from '@ner-launch/common';
import type { MemoryPlan } from './memory-plan.js';
import { wasmHeapBytes } from './wasm-heap.js';

/** Where the failure happened, for the message. */
export interface HeapGuardContext {
  /** Optimizer step (or a label such as "evaluation batch 3"). */
  step: number | string;
  /** [batch, seqLen] of the batch being processed. */
  batchShape: readonly number[];
  plan?: MemoryPlan;
}

/** Heap exhaustion, with the context that produced it. */
export class HeapExhaustedError extends OperationalError {
  constructor(message: string, options: { cause: unknown }) {
    super(message, options);
    this.name = 'HeapExhaustedError';
  }
}

// What tfjs-wasm / emscripten / V8 / tfjs throw when tensor memory runs out.
const EXHAUSTION = [
  /memory access out of bounds/i,
  /\bAborted\(/,
  /\bOOM\b/,
  /out of memory/i,
  /Cannot enlarge memory/i,
  /WebAssembly\.Memory/i,
  /Array buffer allocation failed/i,
  /Failed to allocate/i,
];

/** True if `error` looks like the tensor heap running out. */
export function isHeapExhaustion(error: unknown): boolean {
  if (error instanceof HeapExhaustedError) return false;
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return EXHAUSTION.some((pattern) => pattern.test(text));
}

function explain(context: HeapGuardContext, error: unknown): HeapExhaustedError {
  const heap = wasmHeapBytes();
  const plan = context.plan;
  const original = (error instanceof Error ? error.message : String(error)).slice(0, 200);
  const planText = plan
    ? `the memory plan estimated ${formatBytes(plan.estimateBytes)} against a limit of ${formatBytes(plan.limitBytes)} (${plan.microBatchSize} sentence(s) at a time${plan.recompute ? ', recomputation on' : ''})`
    : 'no memory plan was made';
  return new HeapExhaustedError(
    `Out of tensor memory at step ${context.step}, batch shape [${context.batchShape.join(', ')}]: ${planText}` +
      `${heap !== undefined ? `; wasm heap at ${formatBytes(heap)}` : ''}. ` +
      `Lower --batch_size or --max_len, or pass a smaller memory limit so the plan micro-batches more. ` +
      `(original error: ${original})`,
    { cause: error },
  );
}

/** Runs `fn` (sync or async); heap exhaustion comes out as a HeapExhaustedError. */
export function withHeapGuard<T>(context: HeapGuardContext, fn: () => T): T {
  try {
    const result = fn();
    if (result instanceof Promise)
      return result.catch((error: unknown) => {
        throw isHeapExhaustion(error) ? explain(context, error) : error;
      }) as T;
    return result;
  } catch (error) {
    throw isHeapExhaustion(error) ? explain(context, error) : error;
  }
}
