import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { EpochRecord, TestResults } from '../../src/train/history.js';
import { renderReport, writeReport } from '../../src/train/report.js';

const dir = await mkdtemp(join(tmpdir(), 'train-report-'));
after(() => rm(dir, { recursive: true, force: true }));

const history: EpochRecord[] = [
  {
    epoch: 1,
    train_loss: 1.5,
    train_accuracy: 0.7,
    train_f1: 0.2,
    val_loss: 1.1,
    val_accuracy: 0.8,
    val_f1: 0.3,
    lr: 0.0002,
  },
  {
    epoch: 2,
    train_loss: 0.5,
    train_accuracy: 0.9,
    train_f1: 0.6,
    val_loss: 0.7,
    val_accuracy: 0.85,
    val_f1: 0.55,
    lr: 0.00016,
  },
];
const testResults: TestResults = {
  loss: 0.4242,
  overall_precision: 0.5,
  overall_recall: 0.6,
  overall_f1: 0.5454,
  overall_accuracy: 0.9,
  per_class: {
    LOC: { precision: 0.25, recall: 0.5, f1: 0.3333, number: 4 },
    PER: { precision: 0.75, recall: 0.6, f1: 0.6667, number: 10 },
  },
  without_O: {
    overall_precision: 0.4,
    overall_recall: 0.5,
    overall_f1: 0.4444,
    overall_accuracy: 0.7123,
  },
};

test('report.html gathers the test tables, the plots, the history and the settings', async () => {
  await writeReport(dir, {
    history,
    test: testResults,
    settings: {
      data_path: 'examples/quickstart/data/',
      epochs: 2,
      world_size: 2,
      labels: ['O', 'B-PER'],
    },
    classificationReportText:
      '              precision    recall  f1-score   support\n\n         PER       0.75      0.60      0.67        10\n',
  });
  const html = await readFile(join(dir, 'report.html'), 'utf8');
  assert.match(
    html,
    /<h3>Overall<\/h3>[\s\S]*<td>0\.4242<\/td><td>0\.5000<\/td><td>0\.6000<\/td><td>0\.5454<\/td><td>0\.9000<\/td>/,
  );
  assert.match(html, /<h3>Without O tags<\/h3>[\s\S]*<td>0\.7123<\/td>/);
  assert.match(html, /<td>LOC<\/td><td>0\.2500<\/td><td>0\.5000<\/td><td>0\.3333<\/td><td>4<\/td>/);
  assert.match(html, /<td>PER<\/td>/);
  assert.equal((html.match(/<svg /g) ?? []).length, 3, 'three inline plots');
  assert.equal((html.match(/<polyline /g) ?? []).length, 6);
  assert.match(html, /href="plots\.html"/);
  assert.match(html, /<td>data_path<\/td><td>examples\/quickstart\/data\/<\/td>/);
  assert.match(html, /<td>labels<\/td><td>O, B-PER<\/td>/);
  assert.match(html, /<td>2<\/td><td>0\.5000<\/td>.*<td>1\.600e-4<\/td>/);
  assert.match(html, /<pre>[\s\S]*PER {7}0\.75/);
});

test('a run without test results says so and escapes settings', () => {
  const html = renderReport({ history, test: null, settings: { note: '<script>x</script>' } });
  assert.match(html, /No test results/);
  assert.ok(!html.includes('<script>x'));
  assert.ok(html.includes('&lt;script&gt;x'));
});
