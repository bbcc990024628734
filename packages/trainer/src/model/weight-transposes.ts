/**
 * Transposed weight matrices kept from one parameter update to the next. A linear layer needs
 * W^T in its forward pass and W again (as a matmul operand of its own) for the input gradient;
 * made afresh per call, those are two weight-sized transposes plus an XNNPACK weight packing
 * each (tfjs-wasm caches the packed operand per tensor, so a fresh tensor is packed again).
 * That is ~0.6 s per training slice for MiniLM on tfjs-wasm, paid again by every slice of a
 * micro-batched step and by every evaluation batch although the weights have not changed.
 *
 * Entries are dropped when their weight changes: ParameterStore calls `forgetWeight` whenever
 * it rewrites, replaces or frees a parameter. The restored W is a copy, never the parameter
 * itself: the parameter is rewritten in place on wasm, which would leave tfjs-wasm's packed
 * copy of it stale.
 *
 * The cache holds at most `WEIGHT_CACHE_BUDGET_BYTES` of tensors (the packed operands take as
 * much again inside the backend); weights past it fall back to per-call transposes.
 */
import * as tf from '@tensorflow/tfjs-core';
import { swapLastAxes } from './matmul.js';

/** Bytes of cached tensors allowed (MiniLM's 36 matrices need 88 MB; bert-base's 680 MB). */
export const WEIGHT_CACHE_BUDGET_BYTES = 128 * 2 ** 20;

interface Entry {
  transposed: tf.Tensor;
  restored: tf.Tensor;
}

const entries = new Map<tf.Tensor, Entry>();
let cachedBytes = 0;

function entryFor(weight: tf.Tensor): Entry | undefined {
  const hit = entries.get(weight);
  if (hit) return hit;
  // A weight freed without passing through ParameterStore (a caller's own tensor) must not
  // keep its copies alive.
  for (const key of entries.keys()) if (key.isDisposed) forgetWeight(key);
  const bytes = 2 * weight.size * 4;
  if (cachedBytes + bytes > WEIGHT_CACHE_BUDGET_BYTES) return undefined;
  // Kept outside any tidy scope of the caller; freed by forgetWeight.
  const transposed = tf.keep(swapLastAxes(weight));
  const restored = tf.keep(swapLastAxes(transposed));
  const entry = { transposed, restored };
  entries.set(weight, entry);
  cachedBytes += bytes;
  return entry;
}

/** W^T of a parameter matrix (cached; do not dispose). Undefined past the budget. */
export function cachedTranspose(weight: tf.Tensor): tf.Tensor | undefined {
  return entryFor(weight)?.transposed;
}

/** A copy of a parameter matrix's values usable as a matmul operand (cached; do not dispose). */
export function cachedRestored(weight: tf.Tensor): tf.Tensor | undefined {
  return entryFor(weight)?.restored;
}

/** Drops what was cached for `weight` (its values are about to change or it is being freed). */
export function forgetWeight(weight: tf.Tensor): void {
  const entry = entries.get(weight);
  if (!entry) return;
  entries.delete(weight);
  cachedBytes -= 2 * weight.size * 4;
  entry.transposed.dispose();
  entry.restored.dispose();
}

/** Bytes of tensors the cache holds now. */
export function weightCacheBytes(): number {
  return cachedBytes;
}
