import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { EpochRecord } from '../../src/train/history.js';
import {
  niceTicks,
  plotlySource,
  plotSpecs,
  renderSvgPlot,
  writePlots,
} from '../../src/train/plots.js';
import { assertWellFormedXml } from '../support/xml-check.js';

const dir = await mkdtemp(join(tmpdir(), 'train-plots-'));
after(() => rm(dir, { recursive: true, force: true }));

const history: EpochRecord[] = [1, 2, 3].map((epoch) => ({
  epoch,
  train_loss: 1 / epoch,
  train_accuracy: 0.6 + epoch / 20,
  train_f1: 0.1 * epoch,
  val_loss: 1.2 / epoch,
  val_accuracy: 0.55 + epoch / 20,
  val_f1: 0.09 * epoch + 0.001234,
  lr: 2e-4,
}));

test('writePlots writes plots.html and three SVGs', async () => {
  const files = await writePlots(dir, history);
  assert.deepEqual(files, ['tr_val_loss.svg', 'tr_val_acc.svg', 'tr_val_f1.svg', 'plots.html']);
  for (const f of files) assert.ok((await stat(join(dir, f))).size > 0, f);
});

test('plots.html inlines plotly (opens offline) and holds the data', async () => {
  const html = await readFile(join(dir, 'plots.html'), 'utf8');
  const plotly = await plotlySource();
  assert.ok(html.length > plotly.length, 'the plotly bundle is inlined');
  assert.ok(html.includes('plotly.js v'), 'plotly banner present');
  assert.ok(!/<script[^>]+src=/i.test(html), 'no external script');
  const outsideBundle = html.slice(html.indexOf('</script>'));
  assert.ok(!/https?:\/\//i.test(outsideBundle), 'no link outside the inlined bundle');
  assert.ok(html.includes(String(history[2].val_f1)), 'validation F1 data present');
  for (const id of ['tr_val_loss', 'tr_val_acc', 'tr_val_f1'])
    assert.ok(html.includes(`id="${id}"`));
});

test('each SVG is well-formed XML with a training and a validation polyline', async () => {
  for (const stem of ['tr_val_loss', 'tr_val_acc', 'tr_val_f1']) {
    const svg = await readFile(join(dir, `${stem}.svg`), 'utf8');
    const root = assertWellFormedXml(svg);
    assert.equal(root, 'svg');
    const polylines = svg.match(/<polyline\b[^>]*points="([^"]*)"/g) ?? [];
    assert.equal(polylines.length, 2, stem);
    for (const p of polylines) assert.equal(/points="([^"]*)"/.exec(p)?.[1].split(' ').length, 3);
  }
});

test('the polylines place points by value: lower loss is drawn lower', () => {
  const spec = plotSpecs(history)[0];
  const svg = renderSvgPlot(spec);
  const points = /points="([^"]*)"/
    .exec(svg)![1]
    .split(' ')
    .map((p) => p.split(',').map(Number));
  assert.ok(points[0][0] < points[1][0] && points[1][0] < points[2][0], 'x grows with epoch');
  assert.ok(points[0][1] < points[2][1], 'loss 1 is above loss 1/3 (SVG y grows downwards)');
});

test('a one-epoch history and text needing escapes still give well-formed SVG', () => {
  const spec = { ...plotSpecs(history.slice(0, 1))[0], title: 'A <b> & "c"' };
  assertWellFormedXml(renderSvgPlot(spec));
});

test('nice ticks cover the range with round steps', () => {
  assert.deepEqual(niceTicks(0.12, 0.93), [0, 0.2, 0.4, 0.6, 0.8, 1]);
  assert.deepEqual(niceTicks(0.5, 0.5).length > 1, true);
});
