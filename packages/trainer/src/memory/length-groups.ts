/**
 * Length-grouped slices of a padded batch. A batch is padded to its longest sentence (HF's
 * collator), but on Turku NER a batch of 16 holds 2.4x more padded than real tokens, and
 * every padded position costs as much compute as a real one. Running the batch's rows sorted
 * by length, in a few slices each trimmed to its own longest sentence, gives the same loss
 * and gradients (per-token losses are summed over slices and divided by the whole batch's
 * labelled count; padding is masked) for a fraction of the work. Slices are not free, though
 * (per-slice op dispatch, weight-gradient transposes, gradient read-back and accumulation), so
 * the split is chosen to minimise an estimated cost, not the padding alone.
 */
import { currentBackendProfile, type SliceCostConstants } from '../backends/profile.js';
import type { BertConfig } from '../model/config.js';

/** What the split weighs: the fixed cost of a slice and how attention grows with length. */
export interface SliceCostModel {
  /** Fixed cost of one slice, in token-equivalents. */
  overheadTokens: number;
  /**
   * Extra cost per token per position of sequence length, relative to one token's
   * length-independent cost (attention's score and context products grow with the length).
   */
  attentionPerPosition: number;
}

/**
 * The cost model for a BERT config: per layer and token, dense layers take 6(4h² + 2hi) FLOPs
 * forward + backward and attention 12·h·L, so each position of length adds
 * slowdown·12h / 6(4h² + 2hi).
 */
export function sliceCostModel(
  config: Pick<BertConfig, 'hiddenSize' | 'intermediateSize'>,
  { overheadTokens, attentionSlowdown }: SliceCostConstants,
): SliceCostModel {
  const h = config.hiddenSize;
  const i = config.intermediateSize;
  return {
    overheadTokens,
    attentionPerPosition: (attentionSlowdown * 12 * h) / (6 * (4 * h * h + 2 * h * i)),
  };
}

/** Estimated cost of running `rows` sentences padded to `length` as one slice. */
export function sliceCost(rows: number, length: number, model: SliceCostModel): number {
  return model.overheadTokens + rows * length * (1 + model.attentionPerPosition * length);
}

/**
 * Row indices of a batch grouped into slices: rows sorted by length (ties keep batch order),
 * cut into contiguous runs of at most `maxRows` that minimise the summed `sliceCost` (dynamic
 * programming over the sorted lengths; optimal among such cuts). `lengths[r]` is row r's
 * unpadded length.
 */
export function lengthGroups(
  lengths: readonly number[],
  maxRows: number,
  model: SliceCostModel,
): number[][] {
  const n = lengths.length;
  if (n === 0) return [];
  const limit = Math.max(1, Math.floor(maxRows));
  const order = [...lengths.keys()].sort((a, b) => lengths[a]! - lengths[b]! || a - b);
  // best[j]: cheapest split of the j shortest rows; cut[j]: where its last slice starts.
  const best = new Float64Array(n + 1).fill(Infinity);
  const cut = new Int32Array(n + 1);
  best[0] = 0;
  for (let j = 1; j <= n; j++) {
    const longest = lengths[order[j - 1]!]!;
    for (let i = Math.max(0, j - limit); i < j; i++) {
      const cost = best[i]! + sliceCost(j - i, longest, model);
      if (cost < best[j]!) {
        best[j] = cost;
        cut[j] = i;
      }
    }
  }
  const groups: number[][] = [];
  for (let j = n; j > 0; j = cut[j]!) groups.unshift(order.slice(cut[j]!, j));
  return groups;
}

/** The grouping a training step uses on the current backend (none where its profile says so). */
export function lengthGroupingFor(
  config: Pick<BertConfig, 'hiddenSize' | 'intermediateSize'>,
): SliceCostModel | undefined {
  const constants = currentBackendProfile().lengthGrouping;
  return constants ? sliceCostModel(config, constants) : undefined;
}
