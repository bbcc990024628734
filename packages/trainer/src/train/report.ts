/**
 * `report.html`: one offline page per run with the test tables (overall, without O tags,
 * per entity class, and seqeval's classification report text), the three plots (inline SVG;
 * the interactive versions are in plots.html beside it), the per-epoch history and the run's
 * settings.
 */
import { join } from 'node:path';
import { writeFileAtomic } from '@ner-launch/common';
import type { EpochRecord, TestResults } from './history.js';
import { HISTORY_COLUMNS } from './history.js';
import { escapeXml, plotSpecs, renderSvgPlot } from './plots.js';

/** What the report shows. */
export interface ReportInput {
  history: readonly EpochRecord[];
  test: TestResults | null;
  /** The run's settings (resolved train options plus launch facts such as world size). */
  settings: Record<string, unknown>;
  /** seqeval-layout classification report of the test set (zero_division 1), if computed. */
  classificationReportText?: string;
  /** Page title; default "ner-launch training report". */
  title?: string;
}

function fmt(value: unknown): string {
  if (typeof value === 'number') {
    if (Number.isInteger(value)) return String(value);
    // Learning rates are small: keep their digits instead of printing 0.0000.
    return Math.abs(value) < 1e-3 ? value.toExponential(3) : value.toFixed(4);
  }
  if (value === undefined) return '';
  if (Array.isArray(value)) return value.join(', ');
  return String(value);
}

function table(header: readonly string[], rows: readonly (readonly unknown[])[]): string {
  const head = header.map((h) => `<th>${escapeXml(h)}</th>`).join('');
  const body = rows
    .map((r) => `<tr>${r.map((c) => `<td>${escapeXml(fmt(c))}</td>`).join('')}</tr>`)
    .join('\n');
  return `<table>\n<thead><tr>${head}</tr></thead>\n<tbody>\n${body}\n</tbody>\n</table>`;
}

/** The report page's HTML. */
export function renderReport(input: ReportInput): string {
  const title = input.title ?? 'ner-launch training report';
  const parts: string[] = [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<title>${escapeXml(title)}</title>`,
    '<style>body{font-family:sans-serif;margin:2em;max-width:1000px}table{border-collapse:collapse;margin:0.5em 0 1.5em}th,td{border:1px solid #ccc;padding:3px 8px;text-align:right}th:first-child,td:first-child{text-align:left}pre{background:#f6f6f6;padding:1em}</style>',
    '</head>',
    '<body>',
    `<h1>${escapeXml(title)}</h1>`,
  ];
  parts.push('<h2>Test results</h2>');
  if (input.test) {
    const t = input.test;
    parts.push(
      '<h3>Overall</h3>',
      table(
        ['loss', 'precision', 'recall', 'F1', 'accuracy'],
        [[t.loss, t.overall_precision, t.overall_recall, t.overall_f1, t.overall_accuracy]],
      ),
      '<h3>Without O tags</h3>',
      table(
        ['precision', 'recall', 'F1', 'accuracy'],
        [
          [
            t.without_O.overall_precision,
            t.without_O.overall_recall,
            t.without_O.overall_f1,
            t.without_O.overall_accuracy,
          ],
        ],
      ),
      '<h3>Per entity class</h3>',
      table(
        ['class', 'precision', 'recall', 'F1', 'support'],
        Object.entries(t.per_class).map(([name, c]) => [
          name,
          c.precision,
          c.recall,
          c.f1,
          c.number,
        ]),
      ),
    );
  } else {
    parts.push('<p>No test results (the test phase did not run).</p>');
  }
  if (input.classificationReportText)
    parts.push(
      '<h3>Classification report (seqeval)</h3>',
      `<pre>${escapeXml(input.classificationReportText)}</pre>`,
    );
  parts.push(
    '<h2>Training history</h2>',
    '<p>Interactive versions: <a href="plots.html">plots.html</a>.</p>',
  );
  for (const spec of plotSpecs(input.history)) parts.push(renderSvgPlot(spec));
  parts.push(
    table(
      HISTORY_COLUMNS,
      input.history.map((r) => HISTORY_COLUMNS.map((c) => r[c])),
    ),
  );
  parts.push(
    '<h2>Settings</h2>',
    table(
      ['setting', 'value'],
      Object.entries(input.settings).map(([key, value]) => [key, value]),
    ),
    '</body>',
    '</html>',
    '',
  );
  return parts.join('\n');
}

/** Writes `report.html` into `dir` atomically. */
export async function writeReport(dir: string, input: ReportInput): Promise<void> {
  await writeFileAtomic(join(dir, 'report.html'), renderReport(input));
}
