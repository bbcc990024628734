import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { mulberry32 } from '@ner-launch/common';
import {
  classificationReport,
  formatClassificationReport,
  type ClassificationReport,
} from '../../src/metrics/classification-report.js';
import type { ScoringMode } from '../../src/metrics/entity-spans.js';
import { seqevalResult, withoutOScores, type OverallScores } from '../../src/metrics/ner-scores.js';
import {
  runReference,
  skipWithoutPython,
  skipWithoutTurku,
  TURKU_DIR,
} from '../../../../test/support/python.js';

// Every figure must equal seqeval 1.2.2's within this absolute tolerance (in practice they are
// bit-identical: same arithmetic in the same order); report text must match character for character.
const TOLERANCE = 1e-9;

interface Case {
  gold: string[][];
  pred: string[][];
  mode: ScoringMode;
  label: string;
  /** Decimals of the text reports compared (each costs seqeval a full pass). */
  digits: number[];
}

type PyError = { error: string };
type PyScores = Record<string, number | null | Record<string, unknown>>;
interface PyResult {
  evaluate: PyScores | PyError;
  report: Record<string, Record<string, number | null>> | PyError;
  texts: Record<string, string | PyError>;
  without_O: PyScores | PyError;
}

const PLAIN_TYPES = ['PER', 'LOC', 'ORG', 'MISC', 'DATE'];
// Types seqeval splits or strips differently in its two modes, and non-ASCII ones.
const ODD_TYPES = ['A-B', 'x_y', '_', 'PER-', '-X', 'a-b-c', 'É', '人名', '𝔸'];
// Tags whose first character is not B/I/O, or which lack a type: seqeval's default chunker
// still reads them; strict mode rejects them.
const ODD_TAGS = ['E-PER', 'S-PER', 'E-LOC', 'S-LOC', 'B', 'I', 'E', 'S', 'O-PER', '.PER', 'X-PER'];
const ODD_TAGS_MORE = ['BPER', 'B--PER', 'I-PER-', 'U-PER', 'L-PER', '.', 'IPER'];

function generateCases(count: number, seed: number): Case[] {
  const r = mulberry32(seed); // seeded so a failing case can be reproduced
  const int = (n: number): number => Math.floor(r() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)];
  const cases: Case[] = [];
  for (let c = 0; c < count; c += 1) {
    const kind = c % 9;
    const types = [...PLAIN_TYPES.slice(0, 1 + int(4)), ...(r() < 0.3 ? [pick(ODD_TYPES)] : [])];
    const iobTags = ['O', ...types.flatMap((t) => [`B-${t}`, `I-${t}`])];
    const oddPool =
      kind === 8
        ? [...iobTags, ...ODD_TAGS, ...ODD_TAGS_MORE, ...ODD_TYPES.map((t) => `B-${t}`)]
        : iobTags;
    const sentences = 1 + int(8);
    const lengths = Array.from({ length: sentences }, () => (r() < 0.05 ? 0 : 1 + int(12)));
    const validSentence = (n: number, entityRate: number, single = false): string[] => {
      const out: string[] = [];
      while (out.length < n) {
        if (r() < entityRate) {
          const t = pick(types);
          const len = single ? 1 : 1 + int(3);
          out.push(`B-${t}`);
          for (let k = 1; k < len && out.length < n; k += 1) out.push(`I-${t}`);
        } else out.push('O');
      }
      return out;
    };
    const perturb = (tags: string[], rate: number): string[] =>
      tags.map((tag) => {
        if (r() >= rate) return tag;
        const op = int(4);
        if (op === 0) return pick(oddPool);
        if (op === 1 && tag !== 'O') return (tag[0] === 'B' ? 'I' : 'B') + tag.slice(1);
        if (op === 2) return 'O';
        return tag === 'O' ? `B-${pick(types)}` : `${tag[0]}-${pick(types)}`;
      });
    const random = (n: number, pool: string[]): string[] =>
      Array.from({ length: n }, () => pick(pool));
    const iStarts = (tags: string[]): string[] =>
      tags.map((t) => (t[0] === 'B' ? `I${t.slice(1)}` : t));
    let gold: string[][];
    let pred: string[][];
    let label: string;
    switch (kind) {
      case 0:
      case 1:
        label = 'valid gold, perturbed prediction';
        gold = lengths.map((n) => validSentence(n, 0.3));
        pred = gold.map((s) => perturb(s, 0.05 + r() * 0.4));
        break;
      case 2:
        label = 'random (broken) IOB on both sides';
        gold = lengths.map((n) => random(n, iobTags));
        pred = lengths.map((n) => random(n, iobTags));
        break;
      case 3:
        label = 'all-O gold';
        gold = lengths.map((n) => Array<string>(n).fill('O'));
        pred = lengths.map((n) => (r() < 0.5 ? random(n, iobTags) : validSentence(n, 0.3)));
        break;
      case 4:
        label = r() < 0.5 ? 'all-O prediction' : 'all-O on both sides';
        gold = lengths.map((n) =>
          label === 'all-O prediction' ? validSentence(n, 0.3) : Array<string>(n).fill('O'),
        );
        pred = lengths.map((n) => Array<string>(n).fill('O'));
        break;
      case 5:
        label = 'single-token entities';
        gold = lengths.map((n) => validSentence(n, 0.4, true));
        pred = gold.map((s) => perturb(s, 0.3));
        break;
      case 6:
        label = 'I- starts';
        gold = lengths.map((n) => validSentence(n, 0.3));
        pred = gold.map((s) => (r() < 0.5 ? iStarts(s) : perturb(iStarts(s), 0.2)));
        if (r() < 0.3) gold = gold.map(iStarts);
        break;
      case 7:
        label = 'identical gold and prediction';
        gold = lengths.map((n) => validSentence(n, 0.4));
        pred = gold.map((s) => [...s]);
        break;
      default:
        label = 'odd prefixes and types (E-/S-, bare, dotted, dashed)';
        gold = lengths.map((n) => (r() < 0.5 ? random(n, oddPool) : validSentence(n, 0.3)));
        pred = gold.map((s) => perturb(s, 0.5));
    }
    for (const mode of ['default', 'strict'] as const)
      cases.push({ gold, pred, mode, label, digits: [2, 4] });
  }
  return cases;
}

/** Sentences of a CoNLL file (token TAB tag, blank line between sentences, -DOCSTART- skipped). */
function readConllTags(path: string): string[][] {
  const sentences: string[][] = [];
  let current: string[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const fields = line.trim().split(/\s+/);
    if (line.trim() === '' || fields[0] === '-DOCSTART-') {
      if (current.length > 0) sentences.push(current);
      current = [];
    } else current.push(fields[fields.length - 1]);
  }
  if (current.length > 0) sentences.push(current);
  return sentences;
}

function turkuCases(): Case[] {
  const gold = readConllTags(join(TURKU_DIR, 'test.tsv'));
  const labels = [...new Set(gold.flat())].sort();
  const r = mulberry32(7);
  const perturbed = (rate: number): string[][] =>
    gold.map((s) =>
      s.map((tag) => {
        if (r() >= rate) return tag;
        const op = Math.floor(r() * 3);
        if (op === 0) return labels[Math.floor(r() * labels.length)];
        if (op === 1 && tag !== 'O') return (tag[0] === 'B' ? 'I' : 'B') + tag.slice(1);
        return 'O';
      }),
    );
  const preds: [string, string[][]][] = [
    ['exact', gold],
    ...[0.02, 0.1, 0.4].map((rate): [string, string[][]] => [`${rate} perturbed`, perturbed(rate)]),
    ['B- turned into I-', gold.map((s) => s.map((t) => (t[0] === 'B' ? `I${t.slice(1)}` : t)))],
    ['all O', gold.map((s) => s.map(() => 'O'))],
  ];
  return preds.flatMap(([name, pred]) =>
    (['default', 'strict'] as const).map((mode) => ({
      gold,
      pred,
      mode,
      label: `Turku test, ${name}`,
      digits: [4],
    })),
  );
}

/** Runs `fn`; returns its value or the error it threw. */
function attempt<T>(fn: () => T): { value: T } | { error: Error } {
  try {
    return { value: fn() };
  } catch (error) {
    return { error: error as Error };
  }
}

function isPyError(x: unknown): x is PyError {
  return typeof x === 'object' && x !== null && 'error' in x;
}

class Comparer {
  figures = 0;
  maxDiff = 0;

  near(actual: number, expected: number | null, where: string): void {
    this.figures += 1;
    if (expected === null) {
      assert.ok(Number.isNaN(actual), `${where}: expected NaN, got ${actual}`);
      return;
    }
    const diff = Math.abs(actual - expected);
    this.maxDiff = Math.max(this.maxDiff, diff);
    assert.ok(diff <= TOLERANCE, `${where}: ours ${actual}, seqeval ${expected}`);
  }

  overall(ours: OverallScores, py: PyScores, where: string): void {
    for (const key of [
      'overall_precision',
      'overall_recall',
      'overall_f1',
      'overall_accuracy',
    ] as const)
      this.near(ours[key], py[key] as number, `${where} ${key}`);
  }

  report(
    ours: ClassificationReport,
    py: Record<string, Record<string, number | null>>,
    where: string,
  ): void {
    const rows = [...ours.classes, ours.micro, ours.macro, ours.weighted];
    assert.deepEqual(
      rows.map((row) => row.name),
      Object.keys(py),
      `${where}: report rows`,
    );
    for (const row of rows) {
      const expected = py[row.name];
      this.near(row.precision, expected.precision, `${where} ${row.name} precision`);
      this.near(row.recall, expected.recall, `${where} ${row.name} recall`);
      this.near(row.f1, expected['f1-score'], `${where} ${row.name} f1`);
      assert.equal(row.support, expected.support, `${where} ${row.name} support`);
    }
  }
}

function compareCase(c: Case, py: PyResult, index: number, cmp: Comparer): void {
  const where = `case ${index} (${c.label}, ${c.mode})`;
  const evaluate = attempt(() => seqevalResult(c.gold, c.pred, c.mode));
  if (isPyError(py.evaluate)) {
    assert.ok(
      'error' in evaluate,
      `${where}: seqeval failed (${py.evaluate.error}) but we did not`,
    );
  } else {
    assert.ok(
      'value' in evaluate,
      `${where}: we failed but seqeval did not: ${'error' in evaluate && evaluate.error.message}`,
    );
    cmp.overall(evaluate.value, py.evaluate, where);
    const pyClasses = py.evaluate.per_class as Record<string, Record<string, number>>;
    assert.deepEqual(
      Object.keys(evaluate.value.per_class).sort(),
      Object.keys(pyClasses).sort(),
      `${where}: types`,
    );
    for (const [type, s] of Object.entries(evaluate.value.per_class)) {
      const e = pyClasses[type];
      cmp.near(s.precision, e.precision, `${where} ${type} precision`);
      cmp.near(s.recall, e.recall, `${where} ${type} recall`);
      cmp.near(s.f1, e.f1, `${where} ${type} f1`);
      assert.equal(s.number, e.number, `${where} ${type} number`);
    }
  }

  const report = attempt(() =>
    classificationReport(c.gold, c.pred, { mode: c.mode, zeroDivision: 1 }),
  );
  if (isPyError(py.report)) {
    assert.ok(
      'error' in report,
      `${where}: seqeval report failed (${py.report.error}) but ours did not`,
    );
  } else {
    assert.ok('value' in report, `${where}: our report failed`);
    cmp.report(report.value, py.report, `${where} report`);
  }
  for (const digits of c.digits) {
    const text = py.texts[String(digits)];
    if (!('value' in report)) continue;
    if (isPyError(text)) {
      // seqeval's text report cannot size its name column when there is no entity at all.
      assert.equal(report.value.classes.length, 0, `${where}: seqeval text failed: ${text.error}`);
      continue;
    }
    assert.equal(
      formatClassificationReport(report.value, digits),
      text,
      `${where}: text (digits ${digits})`,
    );
  }

  const withoutO = attempt(() => withoutOScores(c.gold, c.pred, c.mode));
  if (isPyError(py.without_O)) {
    if (py.without_O.error.startsWith('ZeroDivisionError')) {
      // No non-O gold token: Python divides by zero for accuracy; we report zeros by design.
      assert.ok('value' in withoutO, `${where}: without O`);
      assert.deepEqual(withoutO.value, {
        overall_precision: 0,
        overall_recall: 0,
        overall_f1: 0,
        overall_accuracy: 0,
      });
    } else
      assert.ok(
        'error' in withoutO,
        `${where}: seqeval without-O failed (${py.without_O.error}) but we did not`,
      );
  } else {
    assert.ok('value' in withoutO, `${where}: our without-O failed`);
    cmp.overall(withoutO.value, py.without_O, `${where} without O`);
  }
}

test(
  'every figure equals seqeval 1.2.2 on randomized tag sets and on the Turku test set with perturbed predictions',
  { skip: skipWithoutPython() || skipWithoutTurku(), timeout: 180_000 },
  (t) => {
    const random = generateCases(1100, 20261126);
    const turku = turkuCases();
    const cases = [...random, ...turku];
    const out = runReference(
      'seqeval_reference.py',
      [],
      JSON.stringify({
        cases: cases.map(({ gold, pred, mode, digits }) => ({ gold, pred, mode, digits })),
      }),
    );
    const results = (JSON.parse(out) as { results: PyResult[] }).results;
    assert.equal(results.length, cases.length);
    const cmp = new Comparer();
    let pythonErrors = 0;
    cases.forEach((c, i) => {
      if (isPyError(results[i].evaluate)) pythonErrors += 1;
      compareCase(c, results[i], i, cmp);
    });
    // The sets must exercise real scoring, not mostly error paths.
    assert.ok(pythonErrors < random.length / 4, `${pythonErrors} cases failed in seqeval`);
    t.diagnostic(
      `cases compared: ${random.length} randomized + ${turku.length} Turku (both modes); ` +
        `seqeval errors matched: ${pythonErrors}; figures compared: ${cmp.figures}; ` +
        `max |diff|: ${cmp.maxDiff}`,
    );
  },
);
