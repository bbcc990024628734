/**
 * seqeval's `classification_report`: one row per entity type, then micro, macro and weighted
 * averages, laid out as seqeval's `StringReporter` prints them (right-aligned columns, Python's
 * round-half-even fixed-point formatting).
 */
import type { ScoringMode } from './entity-spans.js';
import {
  averageScores,
  classScores,
  countEntities,
  type PrfScores,
  type ZeroDivision,
} from './seqeval.js';

/** One row of the report: an entity type or an average ('micro avg', ...). */
export interface ReportRow extends PrfScores {
  name: string;
}

/** The numbers of seqeval's classification report. */
export interface ClassificationReport {
  /** One row per entity type, sorted as seqeval sorts them. */
  classes: ReportRow[];
  micro: ReportRow;
  macro: ReportRow;
  weighted: ReportRow;
}

/** Options of {@link classificationReport}. */
export interface ClassificationReportOptions {
  /** Chunker; default 'default' (conlleval-compatible). */
  mode?: ScoringMode;
  /** Value of undefined ratios; default 1, as the reference trainer prints its report. */
  zeroDivision?: ZeroDivision;
}

/** Computes seqeval's classification report for gold and predicted tag sequences. */
export function classificationReport(
  gold: string[][],
  pred: string[][],
  options: ClassificationReportOptions = {},
): ClassificationReport {
  const mode = options.mode ?? 'default';
  const zeroDivision = options.zeroDivision ?? 1;
  const counts = countEntities(gold, pred, mode);
  return {
    classes: counts.map((c) => ({ name: c.type, ...classScores(c, zeroDivision) })),
    micro: { name: 'micro avg', ...averageScores(counts, 'micro', zeroDivision) },
    macro: { name: 'macro avg', ...averageScores(counts, 'macro', zeroDivision) },
    weighted: { name: 'weighted avg', ...averageScores(counts, 'weighted', zeroDivision) },
  };
}

/**
 * Python's `format(x, '.{digits}f')`: like `toFixed`, except that exact ties round half to even
 * (`0.125` -> `0.12`; `toFixed` gives `0.13`) and NaN prints as `nan`.
 */
export function formatFixed(x: number, digits: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  const sign = x < 0 || Object.is(x, -0) ? '-' : '';
  const magnitude = Math.abs(x);
  const rounded = magnitude.toFixed(digits);
  if (magnitude >= 1e21) return sign + rounded;
  // toFixed(100) is the exact decimal value for every double this far from underflow.
  const exact = magnitude.toFixed(100);
  const cut = exact.indexOf('.') + 1 + digits;
  if (/^50*$/.test(exact.slice(cut))) {
    const truncated = exact.slice(0, digits === 0 ? cut - 1 : cut);
    if (Number(truncated.at(-1)) % 2 === 0) return sign + truncated;
  }
  return sign + rounded;
}

/** Width in characters as Python's `len` counts them (code points). */
function textWidth(s: string): number {
  return [...s].length;
}

function padStart(s: string, width: number): string {
  return ' '.repeat(Math.max(0, width - textWidth(s))) + s;
}

/**
 * The report as seqeval prints it (`digits` decimals, default 2 as seqeval's). Where seqeval
 * itself fails (no entity in gold nor prediction) this prints the header and averages only.
 */
export function formatClassificationReport(report: ClassificationReport, digits = 2): string {
  const nameWidth = Math.max(0, ...report.classes.map((c) => textWidth(c.name)));
  const width = Math.max(nameWidth, textWidth('weighted avg'), digits);
  const row = (r: ReportRow): string =>
    `${padStart(r.name, width)} ` +
    [r.precision, r.recall, r.f1].map((v) => ` ${padStart(formatFixed(v, digits), 9)}`).join('') +
    ` ${padStart(String(r.support), 9)}`;
  const header =
    `${padStart('', width)} ` +
    ['precision', 'recall', 'f1-score', 'support'].map((h) => ` ${padStart(h, 9)}`).join('');
  const lines = [
    ...report.classes.map(row),
    '',
    row(report.micro),
    row(report.macro),
    row(report.weighted),
    '',
  ];
  return `${header}\n\n${lines.join('\n')}`;
}
