/**
 * Host <-> flat-buffer conversion by HF parameter name: weights in (checked against the model's
 * shapes, extra keys such as the pooler ignored), weights, gradients and moments out.
 */
import type { ParameterLayout } from './layout.js';

/** A host tensor by HF name, float32, row-major (what the trainer's weights IO produces). */
export interface HostTensor {
  shape: number[];
  data: Float32Array;
}

/** Parameters by HF name. */
export type HostWeights = Map<string, HostTensor>;

/** The flat parameter buffer for `weights`; throws one line naming a missing or misshapen tensor. */
export function packWeights(
  layout: ParameterLayout,
  weights: ReadonlyMap<string, HostTensor>,
  source = 'the weights',
): Float32Array {
  const flat = new Float32Array(layout.totalSize);
  for (const slot of layout.slots.values()) {
    const tensor = weights.get(slot.name);
    if (!tensor)
      throw new Error(`${source} have no ${slot.name} (shape [${slot.shape.join(', ')}])`);
    if (
      tensor.shape.length !== slot.shape.length ||
      tensor.shape.some((d, i) => d !== slot.shape[i])
    )
      throw new Error(
        `${source}: ${slot.name} has shape [${tensor.shape.join(', ')}], the model needs [${slot.shape.join(', ')}]`,
      );
    if (tensor.data.length !== slot.size)
      throw new Error(
        `${source}: ${slot.name} has ${tensor.data.length} values for shape [${slot.shape.join(', ')}]`,
      );
    flat.set(tensor.data, slot.offset);
  }
  return flat;
}

/** Copies of every parameter in `flat`, with shapes. */
export function unpackWeights(layout: ParameterLayout, flat: Float32Array): HostWeights {
  const weights: HostWeights = new Map();
  for (const slot of layout.slots.values())
    weights.set(slot.name, {
      shape: [...slot.shape],
      data: flat.slice(slot.offset, slot.offset + slot.size),
    });
  return weights;
}

/**
 * A flat buffer from per-name arrays (gradients, moments); names absent stay 0 (frozen
 * parameters have no gradient). Throws on an unknown name or a wrong length.
 */
export function packNamed(
  layout: ParameterLayout,
  arrays: ReadonlyMap<string, Float32Array>,
  what: string,
): Float32Array {
  const flat = new Float32Array(layout.totalSize);
  for (const [name, data] of arrays) {
    const slot = layout.slots.get(name);
    if (!slot) throw new Error(`${what}: the model has no parameter ${name}`);
    if (data.length !== slot.size)
      throw new Error(`${what}: ${name} has ${data.length} values, the parameter ${slot.size}`);
    flat.set(data, slot.offset);
  }
  return flat;
}

/** Per-name copies out of `flat` for `names` (default every parameter). */
export function unpackNamed(
  layout: ParameterLayout,
  flat: Float32Array,
  names: Iterable<string> = layout.slots.keys(),
): Map<string, Float32Array> {
  const arrays = new Map<string, Float32Array>();
  for (const name of names) {
    const slot = layout.slot(name);
    arrays.set(name, flat.slice(slot.offset, slot.offset + slot.size));
  }
  return arrays;
}
