/**
 * The reference trainer's three plots (loss, accuracy, F1; training vs validation per epoch;
 * its `tr_val_loss`, `tr_val_acc`, `tr_val_f1`), in two forms:
 * - `plots.html`: all three as interactive plotly charts, with plotly.js-dist-min inlined so
 *   the file opens offline (one copy of the ~4.8 MB bundle, not three);
 * - `tr_val_loss.svg`, `tr_val_acc.svg`, `tr_val_f1.svg`: static images drawn here by hand
 *   (axes, ticks, one polyline per series, legend) that any image viewer opens.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { writeFileAtomic } from '@ner-launch/common';
import type { EpochRecord } from './history.js';

/** One chart: a training and a validation series over epochs. */
export interface PlotSpec {
  /** File stem: `tr_val_loss`, `tr_val_acc`, `tr_val_f1`. */
  stem: string;
  title: string;
  yLabel: string;
  epochs: number[];
  train: number[];
  val: number[];
}

const TRAIN_COLOR = '#2ca02c';
const VAL_COLOR = '#1f77b4';

/** The three charts of a history. */
export function plotSpecs(history: readonly EpochRecord[]): PlotSpec[] {
  const epochs = history.map((r) => r.epoch);
  return [
    {
      stem: 'tr_val_loss',
      title: 'Training & Validation loss',
      yLabel: 'Loss',
      epochs,
      train: history.map((r) => r.train_loss),
      val: history.map((r) => r.val_loss),
    },
    {
      stem: 'tr_val_acc',
      title: 'Training & Validation accuracy',
      yLabel: 'Accuracy',
      epochs,
      train: history.map((r) => r.train_accuracy),
      val: history.map((r) => r.val_accuracy),
    },
    {
      stem: 'tr_val_f1',
      title: 'Training & Validation F1 scores',
      yLabel: 'F1',
      epochs,
      train: history.map((r) => r.train_f1),
      val: history.map((r) => r.val_f1),
    },
  ];
}

/** Escapes text for XML/HTML content and attribute values. */
export function escapeXml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** About `count` round tick values covering [lo, hi] (1, 2, 5 x 10^n steps). */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return [0, 1];
  if (hi - lo < 1e-12) {
    const pad = Math.abs(lo) > 0 ? Math.abs(lo) * 0.1 : 1;
    lo -= pad;
    hi += pad;
  }
  const raw = (hi - lo) / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= raw) ?? 10 * magnitude;
  const first = Math.floor(lo / step) * step;
  const ticks: number[] = [];
  for (let v = first; v <= hi + step * 0.5 && ticks.length < 50; v += step)
    ticks.push(Number(v.toPrecision(12)));
  if (ticks[ticks.length - 1] < hi)
    ticks.push(Number((first + ticks.length * step).toPrecision(12)));
  return ticks;
}

function formatTick(v: number): string {
  return Number(v.toPrecision(6)).toString();
}

/** A self-contained SVG line chart of one spec. */
export function renderSvgPlot(spec: PlotSpec, width = 640, height = 400): string {
  const margin = { left: 70, right: 20, top: 40, bottom: 55 };
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;
  const values = [...spec.train, ...spec.val].filter(Number.isFinite);
  const yTicks = niceTicks(Math.min(...values), Math.max(...values));
  const yLo = yTicks[0];
  const yHi = yTicks[yTicks.length - 1];
  const xLo = spec.epochs.length > 0 ? Math.min(...spec.epochs) : 1;
  const xHi = spec.epochs.length > 0 ? Math.max(...spec.epochs) : 1;
  const x = (e: number): number =>
    margin.left + (xHi === xLo ? plotW / 2 : ((e - xLo) / (xHi - xLo)) * plotW);
  const y = (v: number): number => margin.top + plotH - ((v - yLo) / (yHi - yLo)) * plotH;
  const f = (n: number): string => n.toFixed(2);
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<title>${escapeXml(spec.title)}</title>`,
    `<rect x="0" y="0" width="${width}" height="${height}" fill="white"/>`,
    `<text x="${f(width / 2)}" y="22" text-anchor="middle" font-size="15">${escapeXml(spec.title)}</text>`,
  );
  // Grid and y ticks.
  for (const t of yTicks) {
    out.push(
      `<line x1="${margin.left}" y1="${f(y(t))}" x2="${margin.left + plotW}" y2="${f(y(t))}" stroke="#e5e5e5"/>`,
      `<text x="${margin.left - 6}" y="${f(y(t) + 4)}" text-anchor="end">${escapeXml(formatTick(t))}</text>`,
    );
  }
  // x ticks: every epoch, thinned to at most ~12 labels.
  const stride = Math.max(1, Math.ceil(spec.epochs.length / 12));
  spec.epochs.forEach((e, i) => {
    if (i % stride !== 0 && i !== spec.epochs.length - 1) return;
    out.push(
      `<line x1="${f(x(e))}" y1="${margin.top + plotH}" x2="${f(x(e))}" y2="${margin.top + plotH + 5}" stroke="black"/>`,
      `<text x="${f(x(e))}" y="${margin.top + plotH + 19}" text-anchor="middle">${e}</text>`,
    );
  });
  out.push(
    `<rect x="${margin.left}" y="${margin.top}" width="${plotW}" height="${plotH}" fill="none" stroke="black"/>`,
    `<text x="${f(margin.left + plotW / 2)}" y="${height - 12}" text-anchor="middle">Epochs</text>`,
    `<text x="16" y="${f(margin.top + plotH / 2)}" text-anchor="middle" transform="rotate(-90 16 ${f(margin.top + plotH / 2)})">${escapeXml(spec.yLabel)}</text>`,
  );
  const series: [string, number[], string][] = [
    [`Training ${spec.yLabel.toLowerCase()}`, spec.train, TRAIN_COLOR],
    [`Validation ${spec.yLabel.toLowerCase()}`, spec.val, VAL_COLOR],
  ];
  for (const [name, data, color] of series) {
    const points = spec.epochs
      .map((e, i) => [e, data[i]] as const)
      .filter(([, v]) => Number.isFinite(v));
    out.push(
      `<polyline fill="none" stroke="${color}" stroke-width="2" points="${points.map(([e, v]) => `${f(x(e))},${f(y(v))}`).join(' ')}"><title>${escapeXml(name)}</title></polyline>`,
    );
    for (const [e, v] of points)
      out.push(`<circle cx="${f(x(e))}" cy="${f(y(v))}" r="3" fill="${color}"/>`);
  }
  // Legend, top right inside the plot area.
  const lx = margin.left + plotW - 170;
  series.forEach(([name, , color], i) => {
    const ly = margin.top + 16 + i * 18;
    out.push(
      `<line x1="${lx}" y1="${ly - 4}" x2="${lx + 24}" y2="${ly - 4}" stroke="${color}" stroke-width="2"/>`,
      `<text x="${lx + 30}" y="${ly}">${escapeXml(name)}</text>`,
    );
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

const require = createRequire(import.meta.url);

/** The plotly.js-dist-min bundle's source text. */
export async function plotlySource(): Promise<string> {
  return readFile(require.resolve('plotly.js-dist-min'), 'utf8');
}

/** Makes script text safe inside an HTML <script> element. */
function scriptSafe(source: string): string {
  return source.replace(/<\/script/gi, '<\\/script').replace(/<!--/g, '<\\x21--');
}

/** One HTML page with the three charts as interactive plotly plots, plotly inlined. */
export function renderPlotlyHtml(
  specs: readonly PlotSpec[],
  plotly: string,
  title = 'Training history',
): string {
  const figures = specs.map((spec) => ({
    id: spec.stem,
    data: [
      {
        x: spec.epochs,
        y: spec.train,
        name: `Training ${spec.yLabel.toLowerCase()}`,
        mode: 'lines+markers',
        line: { color: TRAIN_COLOR },
      },
      {
        x: spec.epochs,
        y: spec.val,
        name: `Validation ${spec.yLabel.toLowerCase()}`,
        mode: 'lines+markers',
        line: { color: VAL_COLOR },
      },
    ],
    layout: {
      title: { text: spec.title },
      xaxis: { title: { text: 'Epochs' }, dtick: 1 },
      yaxis: { title: { text: spec.yLabel } },
    },
  }));
  // JSON in a script element: escape '<' so data can never close the element.
  const json = JSON.stringify(figures).replace(/</g, '\\u003c');
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<title>${escapeXml(title)}</title>`,
    `<script>${scriptSafe(plotly)}</script>`,
    '</head>',
    '<body>',
    ...specs.map(
      (s) => `<div id="${s.stem}" style="width:100%;max-width:900px;height:450px"></div>`,
    ),
    `<script id="plot-data" type="application/json">${json}</script>`,
    '<script>',
    'for (const fig of JSON.parse(document.getElementById("plot-data").textContent)) {',
    '  Plotly.newPlot(fig.id, fig.data, fig.layout, { responsive: true });',
    '}',
    '</script>',
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

/** Writes plots.html and the three SVGs into `dir`; returns the file names written. */
export async function writePlots(dir: string, history: readonly EpochRecord[]): Promise<string[]> {
  const specs = plotSpecs(history);
  const written: string[] = [];
  for (const spec of specs) {
    await writeFileAtomic(join(dir, `${spec.stem}.svg`), renderSvgPlot(spec));
    written.push(`${spec.stem}.svg`);
  }
  await writeFileAtomic(join(dir, 'plots.html'), renderPlotlyHtml(specs, await plotlySource()));
  written.push('plots.html');
  return written;
}
