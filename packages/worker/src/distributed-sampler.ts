/**
 * Splits a dataset's sample indices over the ranks, as torch's DistributedSampler: one
 * permutation per epoch from (seed, epoch), identical on every rank; rank r takes positions
 * r, r+N, r+2N, ... With `evenBatches` the list is padded by repeating its start so every
 * rank gets the same number of samples and batches (no rank waits in a collective for a
 * batch that never comes); the padding is marked so gatherForMetrics can drop it.
 * Batch j of rank r, over all ranks, covers exactly global batch j of size N·b of one process.
 */
import { mulberry32 } from '@ner-launch/common';

/** One batch of this rank. */
export interface SamplerBatch {
  /** Dataset indices of the samples. */
  indices: number[];
  /** Position of each sample in the epoch's global order (≥ dataset length: padding). */
  positions: number[];
  /** Leading samples that are real; the rest repeat earlier samples to even out the ranks. */
  realCount: number;
}

/** How to shard. */
export interface DistributedSamplerOptions {
  datasetLength: number;
  batchSize: number;
  rank: number;
  worldSize: number;
  shuffle?: boolean;
  seed?: number;
  /** Pad so every rank gets the same number of batches (accelerate's even_batches); default true. */
  evenBatches?: boolean;
  /** Drop this rank's last incomplete batch. */
  dropLast?: boolean;
}

/** Seeded per-epoch sharded batches. */
export class DistributedSampler {
  private readonly options: Required<DistributedSamplerOptions>;

  constructor(options: DistributedSamplerOptions) {
    const { datasetLength, batchSize, rank, worldSize } = options;
    if (!Number.isInteger(datasetLength) || datasetLength < 0)
      throw new RangeError(`dataset length ${datasetLength} is not a count`);
    if (!Number.isInteger(batchSize) || batchSize < 1)
      throw new RangeError(`batch size ${batchSize} must be a positive integer`);
    if (
      !Number.isInteger(worldSize) ||
      worldSize < 1 ||
      !Number.isInteger(rank) ||
      rank < 0 ||
      rank >= worldSize
    )
      throw new RangeError(`rank ${rank} is outside 0..${worldSize - 1}`);
    this.options = { shuffle: true, seed: 0, evenBatches: true, dropLast: false, ...options };
  }

  /** The epoch's global order of dataset indices (same on every rank). */
  order(epoch: number): number[] {
    const { datasetLength, shuffle, seed } = this.options;
    const order = Array.from({ length: datasetLength }, (_, i) => i);
    if (shuffle) {
      // Mix seed and epoch so consecutive epochs are unrelated permutations.
      const random = mulberry32(
        (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(epoch + 1, 0x85ebca6b)) >>> 0,
      );
      for (let i = order.length - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        [order[i], order[j]] = [order[j], order[i]];
      }
    }
    return order;
  }

  /** Number of samples this rank sees per epoch (padding included). */
  get samplesPerRank(): number {
    const { datasetLength, worldSize, rank, evenBatches } = this.options;
    if (evenBatches) return Math.ceil(datasetLength / worldSize);
    return Math.floor(datasetLength / worldSize) + (rank < datasetLength % worldSize ? 1 : 0);
  }

  /** Number of batches this rank gets per epoch. */
  get batchesPerEpoch(): number {
    const { batchSize, dropLast } = this.options;
    return dropLast
      ? Math.floor(this.samplesPerRank / batchSize)
      : Math.ceil(this.samplesPerRank / batchSize);
  }

  /** This rank's batches for `epoch`. */
  batches(epoch: number): SamplerBatch[] {
    const { datasetLength, worldSize, rank, batchSize } = this.options;
    const order = this.order(epoch);
    const count = this.samplesPerRank;
    const positions = Array.from({ length: count }, (_, i) => i * worldSize + rank);
    const out: SamplerBatch[] = [];
    for (let b = 0; b < this.batchesPerEpoch; b++) {
      const pos = positions.slice(b * batchSize, (b + 1) * batchSize);
      out.push({
        positions: pos,
        // Padding repeats the start of the epoch's order (wrapping if the dataset is tiny).
        indices: pos.map((p) => order[datasetLength === 0 ? 0 : p % datasetLength]),
        realCount: pos.filter((p) => p < datasetLength).length,
      });
    }
    return out;
  }
}
