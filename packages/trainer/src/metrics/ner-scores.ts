/**
 * The figures the reference trainer reports: `evaluate.load("seqeval").compute(...)` (which calls
 * seqeval's `classification_report(output_dict=True)` with zero_division 'warn', i.e. 0, keeps the
 * micro average as `overall_*` and adds `accuracy_score`), plus the "without O" figures: every
 * position whose gold tag is `O` dropped, the rest scored as one sequence.
 */
import type { ScoringMode } from './entity-spans.js';
import {
  averageScores,
  checkConsistentLength,
  classScores,
  countEntities,
  tokenAccuracy,
} from './seqeval.js';

/** Overall entity-level scores and token accuracy, named as `evaluate`'s seqeval returns them. */
export interface OverallScores {
  overall_precision: number;
  overall_recall: number;
  overall_f1: number;
  overall_accuracy: number;
}

/** One entity type as `evaluate`'s seqeval returns it (`number` is the gold support). */
export interface TypeScores {
  precision: number;
  recall: number;
  f1: number;
  number: number;
}

/** `evaluate`'s seqeval result: overall figures and one entry per entity type. */
export interface SeqevalResult extends OverallScores {
  per_class: Record<string, TypeScores>;
}

/** Everything `ner-launch score --json` prints and the trainer stores as test results. */
export interface NerScores extends SeqevalResult {
  without_O: OverallScores;
}

/** `evaluate`'s seqeval wrapper (zero_division 0 everywhere). Throws on empty input. */
export function seqevalResult(
  gold: string[][],
  pred: string[][],
  mode: ScoringMode = 'default',
): SeqevalResult {
  const counts = countEntities(gold, pred, mode);
  const micro = averageScores(counts, 'micro', 0);
  const perClass: Record<string, TypeScores> = {};
  for (const c of counts) {
    const s = classScores(c, 0);
    perClass[c.type] = { precision: s.precision, recall: s.recall, f1: s.f1, number: s.support };
  }
  return {
    overall_precision: micro.precision,
    overall_recall: micro.recall,
    overall_f1: micro.f1,
    overall_accuracy: tokenAccuracy(gold, pred),
    per_class: perClass,
  };
}

/**
 * The "without O" figures: positions with gold tag `O` removed from both sides, the rest joined
 * into one sequence and scored as {@link seqevalResult}. With no non-O gold token at all, Python
 * would divide by zero for accuracy; we report 0 for every figure (zero_division 0).
 */
export function withoutOScores(
  gold: string[][],
  pred: string[][],
  mode: ScoringMode = 'default',
): OverallScores {
  const keptGold: string[] = [];
  const keptPred: string[] = [];
  checkConsistentLength(gold, pred);
  gold.forEach((tags, i) =>
    tags.forEach((tag, j) => {
      if (tag === 'O') return;
      keptGold.push(tag);
      keptPred.push(pred[i][j]);
    }),
  );
  if (keptGold.length === 0)
    return { overall_precision: 0, overall_recall: 0, overall_f1: 0, overall_accuracy: 0 };
  const { per_class: _, ...overall } = seqevalResult([keptGold], [keptPred], mode);
  return overall;
}

/** All figures of {@link NerScores} for gold and predicted tags. */
export function nerScores(
  gold: string[][],
  pred: string[][],
  mode: ScoringMode = 'default',
): NerScores {
  return { ...seqevalResult(gold, pred, mode), without_O: withoutOScores(gold, pred, mode) };
}
