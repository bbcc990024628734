/**
 * The one seeded PRNG of ner-launch (mulberry32), on the host rather than tfjs's, so data
 * splits, sampler shuffles, weight initialisation and dropout seeds are reproducible across
 * backends, ranks, platforms and runs (and a split can be redone from its seed in any language).
 */

/** A generator's position, to continue its stream later (training checkpoints). */
export interface SeededRandomState {
  state: number;
  spare: number | null;
}

/** Deterministic generator: uniform in [0, 1) and standard normal draws. */
export class SeededRandom {
  private state: number;
  private spare: number | undefined;

  constructor(seed: number) {
    // Mix the seed so nearby seeds give unrelated streams.
    this.state = (Math.imul(seed | 0, 0x9e3779b1) ^ 0x85ebca6b) >>> 0;
  }

  /** The plain mulberry32 stream of a 32-bit `seed`, used as its state without mixing. */
  static unmixed(seed: number): SeededRandom {
    const random = new SeededRandom(0);
    random.state = seed >>> 0;
    return random;
  }

  /** The current position of the stream. */
  getState(): SeededRandomState {
    return { state: this.state, spare: this.spare ?? null };
  }

  /** Continues from a `getState()` result. */
  setState(saved: SeededRandomState): void {
    if (!Number.isInteger(saved.state) || saved.state < 0 || saved.state > 0xffffffff)
      throw new RangeError(`random state ${saved.state} is not a 32-bit unsigned integer`);
    this.state = saved.state;
    this.spare = saved.spare ?? undefined;
  }

  /** Uniform in [0, 1) (mulberry32). */
  uniform(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Standard normal (Box-Muller, both values used). */
  normal(): number {
    if (this.spare !== undefined) {
      const value = this.spare;
      this.spare = undefined;
      return value;
    }
    let u = 0;
    while (u === 0) u = this.uniform();
    const v = this.uniform();
    const radius = Math.sqrt(-2 * Math.log(u));
    this.spare = radius * Math.sin(2 * Math.PI * v);
    return radius * Math.cos(2 * Math.PI * v);
  }

  /** A 31-bit integer, e.g. a seed for a tfjs random op. */
  int(): number {
    return Math.floor(this.uniform() * 2147483647);
  }

  /** `size` draws from normal(0, std) as float32. */
  normalArray(size: number, std: number): Float32Array {
    const out = new Float32Array(size);
    for (let i = 0; i < size; i++) out[i] = this.normal() * std;
    return out;
  }
}

/** mulberry32: floats in [0, 1) from a 32-bit seed; same seed, same stream everywhere. */
export function mulberry32(seed: number): () => number {
  const random = SeededRandom.unmixed(seed);
  return () => random.uniform();
}
