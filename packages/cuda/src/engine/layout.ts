/**
 * Where each parameter lives in the flat buffers (parameters, gradients, AdamW moments share one
 * layout): blocks per module (embeddings, each encoder layer, classifier), matrices first then
 * vectors, so a decay / no-decay split is a couple of contiguous runs per layer; query, key and
 * value are packed back to back (weights [3H, H], biases [3H]) so one GEMM computes all three.
 * Each block of packed parameters starts on a 64-element (256-byte) boundary; the padding stays 0.
 */
import { parameterShapes, type CudaBertDims } from './dims.js';

/** Elements between block starts. */
export const LAYOUT_ALIGNMENT = 64;

/** One parameter's place in the flat buffers. */
export interface ParameterSlot {
  name: string;
  shape: number[];
  /** Element offset. */
  offset: number;
  size: number;
}

/** A contiguous range updated with one param group's hyper-parameters. */
export interface GroupRun {
  group: number;
  offset: number;
  size: number;
}

function layerBlocks(layer: number): string[][] {
  const p = `bert.encoder.layer.${layer}`;
  const self = `${p}.attention.self`;
  return [
    [`${self}.query.weight`, `${self}.key.weight`, `${self}.value.weight`],
    [`${p}.attention.output.dense.weight`],
    [`${p}.intermediate.dense.weight`],
    [`${p}.output.dense.weight`],
    [`${self}.query.bias`, `${self}.key.bias`, `${self}.value.bias`],
    [`${p}.attention.output.dense.bias`],
    [`${p}.attention.output.LayerNorm.weight`],
    [`${p}.attention.output.LayerNorm.bias`],
    [`${p}.intermediate.dense.bias`],
    [`${p}.output.dense.bias`],
    [`${p}.output.LayerNorm.weight`],
    [`${p}.output.LayerNorm.bias`],
  ];
}

/** The flat layout of one model's parameters. */
export class ParameterLayout {
  readonly slots = new Map<string, ParameterSlot>();
  /** Elements in each flat buffer, padding included. */
  readonly totalSize: number;

  constructor(readonly dims: CudaBertDims) {
    const shapes = parameterShapes(dims);
    const e = 'bert.embeddings';
    const blocks: string[][] = [
      [`${e}.word_embeddings.weight`],
      [`${e}.position_embeddings.weight`],
      [`${e}.token_type_embeddings.weight`],
      [`${e}.LayerNorm.weight`],
      [`${e}.LayerNorm.bias`],
    ];
    for (let layer = 0; layer < dims.numLayers; layer++) blocks.push(...layerBlocks(layer));
    blocks.push(['classifier.weight'], ['classifier.bias']);
    let offset = 0;
    for (const block of blocks) {
      offset = Math.ceil(offset / LAYOUT_ALIGNMENT) * LAYOUT_ALIGNMENT;
      for (const name of block) {
        const shape = shapes.get(name)!;
        const size = shape.reduce((a, b) => a * b, 1);
        this.slots.set(name, { name, shape, offset, size });
        offset += size;
      }
    }
    this.totalSize = Math.ceil(offset / LAYOUT_ALIGNMENT) * LAYOUT_ALIGNMENT;
  }

  /** The slot of `name`; throws naming it when the model has no such parameter. */
  slot(name: string): ParameterSlot {
    const slot = this.slots.get(name);
    if (!slot) throw new Error(`the BERT model has no parameter ${name}`);
    return slot;
  }

  /** Offsets of layer `layer`'s packed query|key|value weight [3H, H] and bias [3H]. */
  qkv(layer: number): { weight: number; bias: number } {
    const self = `bert.encoder.layer.${layer}.attention.self`;
    return {
      weight: this.slot(`${self}.query.weight`).offset,
      bias: this.slot(`${self}.query.bias`).offset,
    };
  }

  /**
   * Contiguous runs of one param group each, in offset order, for the fused AdamW. Padding
   * between slots of the same group joins their runs (it is 0 and stays 0); parameters in no
   * group (frozen) are left out. Throws on unknown or repeated names.
   */
  groupRuns(groups: readonly { params: readonly string[] }[]): GroupRun[] {
    const groupOf = new Map<string, number>();
    groups.forEach((group, index) => {
      for (const name of group.params) {
        this.slot(name);
        if (groupOf.has(name)) throw new Error(`parameter ${name} appears in two param groups`);
        groupOf.set(name, index);
      }
    });
    const runs: GroupRun[] = [];
    let previousEnd = -1;
    for (const slot of [...this.slots.values()].sort((a, b) => a.offset - b.offset)) {
      const group = groupOf.get(slot.name);
      const last = runs.at(-1);
      const onlyPaddingBetween = previousEnd >= 0 && slot.offset - previousEnd < LAYOUT_ALIGNMENT;
      if (
        group !== undefined &&
        last &&
        last.group === group &&
        last.offset + last.size === previousEnd &&
        onlyPaddingBetween
      )
        last.size = slot.offset + slot.size - last.offset;
      else if (group !== undefined) runs.push({ group, offset: slot.offset, size: slot.size });
      previousEnd = slot.offset + slot.size;
    }
    return runs;
  }
}
