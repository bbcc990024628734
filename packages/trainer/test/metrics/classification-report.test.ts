import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  classificationReport,
  formatClassificationReport,
  formatFixed,
} from '../../src/metrics/classification-report.js';

test('the text report matches seqeval classification_report docstring byte for byte', () => {
  const gold = [
    ['O', 'O', 'O', 'B-MISC', 'I-MISC', 'I-MISC', 'O'],
    ['B-PER', 'I-PER', 'O'],
  ];
  const pred = [
    ['O', 'O', 'B-MISC', 'I-MISC', 'I-MISC', 'I-MISC', 'O'],
    ['B-PER', 'I-PER', 'O'],
  ];
  assert.equal(
    formatClassificationReport(classificationReport(gold, pred)),
    '              precision    recall  f1-score   support\n\n' +
      '        MISC       0.00      0.00      0.00         1\n' +
      '         PER       1.00      1.00      1.00         1\n\n' +
      '   micro avg       0.50      0.50      0.50         2\n' +
      '   macro avg       0.50      0.50      0.50         2\n' +
      'weighted avg       0.50      0.50      0.50         2\n',
  );
});

test('the report uses zero_division 1 by default, as the reference prints it', () => {
  // Python: classification_report([['B-PER','O','B-LOC']], [['B-PER','O','O']], zero_division=1, digits=4)
  const report = classificationReport([['B-PER', 'O', 'B-LOC']], [['B-PER', 'O', 'O']]);
  assert.deepEqual(report.classes[0], { name: 'LOC', precision: 1, recall: 0, f1: 0, support: 1 });
  assert.equal(
    formatClassificationReport(report, 4),
    '              precision    recall  f1-score   support\n\n' +
      '         LOC     1.0000    0.0000    0.0000         1\n' +
      '         PER     1.0000    1.0000    1.0000         1\n\n' +
      '   micro avg     1.0000    0.5000    0.6667         2\n' +
      '   macro avg     1.0000    0.5000    0.5000         2\n' +
      'weighted avg     1.0000    0.5000    0.5000         2\n',
  );
  assert.equal(
    classificationReport([['B-LOC']], [['O']], { zeroDivision: 0 }).classes[0].precision,
    0,
  );
});

test('long type names widen the name column', () => {
  const text = formatClassificationReport(
    classificationReport([['B-VERY_LONG_TYPE']], [['B-VERY_LONG_TYPE']]),
  );
  assert.ok(text.includes('\nVERY_LONG_TYPE       1.00'), text);
  assert.ok(text.includes('\n  weighted avg       1.00'), text);
});

test('formatFixed rounds exact ties to even as Python does, unlike toFixed', () => {
  assert.equal((0.125).toFixed(2), '0.13');
  assert.equal(formatFixed(0.125, 2), '0.12');
  assert.equal(formatFixed(0.375, 2), '0.38');
  assert.equal(formatFixed(0.135, 2), '0.14'); // 0.135 is stored just above the tie
  assert.equal(formatFixed(2.5, 0), '2');
  assert.equal(formatFixed(2 / 3, 4), '0.6667');
  assert.equal(formatFixed(Number.NaN, 2), 'nan');
});
