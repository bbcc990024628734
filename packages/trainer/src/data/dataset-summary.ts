/** Counts what a dataset holds: sentences, tokens, tags and entities per class, IOB slips. */
import { countInvalidIobSequences, entityType } from './iob.js';
import type { Sentence } from './sentence.js';

/** What was read from one file (or several added together). */
export interface DatasetSummary {
  sentences: number;
  tokens: number;
  /** Tokens per tag (`O`, `B-PER`, ...), keys in label order (O first, then sorted). */
  tags: Record<string, number>;
  /** Entity spans per type, counted as seqeval does by default (an `I-X` after a non-X starts one). */
  entities: Record<string, number>;
  /** `I-X` tags following `O`, the sentence start or another type: legal, but worth knowing. */
  invalidIobSequences: number;
}

/** Compares strings by code point, as Python's sorted() does (JS < compares UTF-16 units). */
export function compareCodePoints(a: string, b: string): number {
  const ia = a[Symbol.iterator]();
  const ib = b[Symbol.iterator]();
  for (;;) {
    const x = ia.next();
    const y = ib.next();
    if (x.done || y.done) return x.done && y.done ? 0 : x.done ? -1 : 1;
    const cx = x.value.codePointAt(0) ?? 0;
    const cy = y.value.codePointAt(0) ?? 0;
    if (cx !== cy) return cx - cy;
  }
}

/** Label order used everywhere: `O` first, then the rest sorted by code point. */
export function orderLabels(labels: Iterable<string>): string[] {
  const set = new Set(labels);
  const rest = [...set].filter((l) => l !== 'O').sort(compareCodePoints);
  return set.has('O') ? ['O', ...rest] : rest;
}

function ordered(
  counts: Map<string, number>,
  order: (keys: Iterable<string>) => string[],
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const key of order(counts.keys())) out[key] = counts.get(key) ?? 0;
  return out;
}

/** Accumulates a DatasetSummary sentence by sentence (streaming-friendly). */
export class SummaryCounter {
  private sentences = 0;
  private tokens = 0;
  private readonly tags = new Map<string, number>();
  private readonly entities = new Map<string, number>();
  private invalid = 0;

  /** Adds one sentence. */
  add(sentence: Pick<Sentence, 'tags'>): void {
    this.sentences++;
    this.tokens += sentence.tags.length;
    let previous = 'O';
    for (const tag of sentence.tags) {
      this.tags.set(tag, (this.tags.get(tag) ?? 0) + 1);
      const type = entityType(tag);
      if (type !== undefined && (tag[0] === 'B' || entityType(previous) !== type))
        this.entities.set(type, (this.entities.get(type) ?? 0) + 1);
      previous = tag;
    }
    this.invalid += countInvalidIobSequences(sentence.tags);
  }

  /** The counts so far. */
  summary(): DatasetSummary {
    return {
      sentences: this.sentences,
      tokens: this.tokens,
      tags: ordered(this.tags, orderLabels),
      entities: ordered(this.entities, (keys) => [...keys].sort(compareCodePoints)),
      invalidIobSequences: this.invalid,
    };
  }
}
