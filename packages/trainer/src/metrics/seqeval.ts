/**
 * seqeval 1.2.2's scores from entity counts: per-class and micro/macro/weighted precision,
 * recall, F1 and support (`seqeval.metrics.v1._precision_recall_fscore_support`), and token
 * accuracy (`accuracy_score`). Same arithmetic in the same order, so figures match to the bit:
 * F1 is `2 * p * r / (p + r)` on the already zero_division-substituted p and r, and averages
 * sum with numpy's pairwise summation.
 */
import { compareCodePoints } from '../data/dataset-summary.js';
import { extractEntities, type ScoringMode } from './entity-spans.js';

/** The value a ratio with a zero denominator takes (seqeval's `zero_division`; 'warn' acts as 0). */
export type ZeroDivision = 0 | 1;

/** Entity counts of one type. */
export interface ClassCounts {
  type: string;
  /** Entities predicted with the right type and boundaries. */
  truePositives: number;
  /** Entities of this type in the prediction. */
  predicted: number;
  /** Entities of this type in the gold data (seqeval's support). */
  support: number;
}

/** Precision, recall, F1 and support of one class or one average. */
export interface PrfScores {
  precision: number;
  recall: number;
  f1: number;
  support: number;
}

/** The averages seqeval's classification report prints. */
export type AverageKind = 'micro' | 'macro' | 'weighted';

/** Gold and predicted sequences whose sentence counts or lengths differ. */
export class SequenceLengthError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SequenceLengthError';
  }
}

/** Throws unless gold and pred have the same number of sentences and each pair the same length. */
export function checkConsistentLength(gold: string[][], pred: string[][]): void {
  if (gold.length !== pred.length)
    throw new SequenceLengthError(
      `gold has ${gold.length} sentences but the prediction has ${pred.length}`,
    );
  gold.forEach((tags, i) => {
    if (tags.length !== pred[i].length)
      throw new SequenceLengthError(
        `sentence ${i + 1}: gold has ${tags.length} tags but the prediction has ${pred[i].length}`,
      );
  });
}

/** Per-type entity counts, types sorted as seqeval sorts them (union of gold and predicted types). */
export function countEntities(
  gold: string[][],
  pred: string[][],
  mode: ScoringMode,
): ClassCounts[] {
  checkConsistentLength(gold, pred);
  const key = (e: { sentence: number; start: number; end: number }): string =>
    `${e.sentence}:${e.start}:${e.end}`;
  const goldByType = new Map<string, Set<string>>();
  const predByType = new Map<string, Set<string>>();
  const collect = (into: Map<string, Set<string>>, sentences: string[][]): void => {
    for (const e of extractEntities(sentences, mode)) {
      let set = into.get(e.type);
      if (!set) into.set(e.type, (set = new Set()));
      set.add(key(e));
    }
  };
  collect(goldByType, gold);
  collect(predByType, pred);
  const types = [...new Set([...goldByType.keys(), ...predByType.keys()])].sort(compareCodePoints);
  return types.map((type) => {
    const g = goldByType.get(type) ?? new Set<string>();
    const p = predByType.get(type) ?? new Set<string>();
    let truePositives = 0;
    for (const k of p) if (g.has(k)) truePositives += 1;
    return { type, truePositives, predicted: p.size, support: g.size };
  });
}

/** seqeval's `_prf_divide`. */
function divide(numerator: number, denominator: number, zeroDivision: ZeroDivision): number {
  return denominator === 0 ? zeroDivision : numerator / denominator;
}

/** F1 from precision and recall, seqeval's formula with beta = 1 (0 when both are 0). */
function f1From(precision: number, recall: number): number {
  const denominator = precision + recall;
  return (2 * precision * recall) / (denominator === 0 ? 1 : denominator);
}

/** Scores of one class from its counts. */
export function classScores(counts: ClassCounts, zeroDivision: ZeroDivision): PrfScores {
  const precision = divide(counts.truePositives, counts.predicted, zeroDivision);
  const recall = divide(counts.truePositives, counts.support, zeroDivision);
  return { precision, recall, f1: f1From(precision, recall), support: counts.support };
}

/**
 * numpy's float64 `sum` (pairwise summation: blocks of up to 128 in 8 accumulators), so
 * averages round exactly as numpy's do.
 */
export function numpySum(values: readonly number[]): number {
  const pairwise = (from: number, n: number): number => {
    if (n < 8) {
      let sum = 0;
      for (let i = 0; i < n; i += 1) sum += values[from + i];
      return sum;
    }
    if (n <= 128) {
      const r = values.slice(from, from + 8);
      let i = 8;
      for (; i < n - (n % 8); i += 8) for (let j = 0; j < 8; j += 1) r[j] += values[from + i + j];
      let sum = r[0] + r[1] + (r[2] + r[3]) + (r[4] + r[5] + (r[6] + r[7]));
      for (; i < n; i += 1) sum += values[from + i];
      return sum;
    }
    let half = Math.floor(n / 2);
    half -= half % 8;
    return pairwise(from, half) + pairwise(from + half, n - half);
  };
  return pairwise(0, values.length);
}

/**
 * One of seqeval's averages over the classes. macro over no classes is NaN (numpy's mean of an
 * empty array); weighted with no gold entities follows seqeval's special case.
 */
export function averageScores(
  counts: readonly ClassCounts[],
  average: AverageKind,
  zeroDivision: ZeroDivision,
): PrfScores {
  const support = counts.reduce((sum, c) => sum + c.support, 0);
  if (average === 'micro')
    return {
      ...classScores(
        {
          type: '',
          truePositives: counts.reduce((sum, c) => sum + c.truePositives, 0),
          predicted: counts.reduce((sum, c) => sum + c.predicted, 0),
          support,
        },
        zeroDivision,
      ),
      support,
    };
  const scores = counts.map((c) => classScores(c, zeroDivision));
  if (average === 'macro') {
    const mean = (pick: (s: PrfScores) => number): number =>
      numpySum(scores.map(pick)) / scores.length;
    return {
      precision: mean((s) => s.precision),
      recall: mean((s) => s.recall),
      f1: mean((s) => s.f1),
      support,
    };
  }
  if (support === 0) {
    const noPredictions = counts.every((c) => c.predicted === 0);
    return {
      precision: noPredictions ? zeroDivision : 0,
      recall: zeroDivision,
      f1: noPredictions ? zeroDivision : 0,
      support: 0,
    };
  }
  const weighted = (pick: (s: PrfScores) => number): number =>
    numpySum(scores.map((s, i) => pick(s) * counts[i].support)) / support;
  return {
    precision: weighted((s) => s.precision),
    recall: weighted((s) => s.recall),
    f1: weighted((s) => s.f1),
    support,
  };
}

/** Share of tokens whose predicted tag equals the gold tag (seqeval's `accuracy_score`). */
export function tokenAccuracy(gold: string[][], pred: string[][]): number {
  checkConsistentLength(gold, pred);
  let total = 0;
  let correct = 0;
  gold.forEach((tags, i) =>
    tags.forEach((tag, j) => {
      total += 1;
      if (tag === pred[i][j]) correct += 1;
    }),
  );
  if (total === 0) throw new SequenceLengthError('nothing to score: the sequences hold no tokens');
  return correct / total;
}
