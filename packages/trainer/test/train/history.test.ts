import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import {
  historyToCsv,
  writeHistoryFiles,
  type EpochRecord,
  type TestResults,
} from '../../src/train/history.js';

const dir = await mkdtemp(join(tmpdir(), 'train-history-'));
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
  loss: 0.42,
  overall_precision: 0.5,
  overall_recall: 0.6,
  overall_f1: 6 / 11,
  overall_accuracy: 0.9,
  per_class: { PER: { precision: 0.5, recall: 0.6, f1: 6 / 11, number: 10 } },
  without_O: {
    overall_precision: 0.4,
    overall_recall: 0.5,
    overall_f1: 4 / 9,
    overall_accuracy: 0.7,
  },
};

test('history.csv has a header and one row per epoch with the reference columns', () => {
  assert.equal(
    historyToCsv(history),
    'epoch,train_loss,train_accuracy,train_f1,val_loss,val_accuracy,val_f1,lr\n' +
      '1,1.5,0.7,0.2,1.1,0.8,0.3,0.0002\n' +
      '2,0.5,0.9,0.6,0.7,0.85,0.55,0.00016\n',
  );
});

test('metrics.json holds the history and the test results, and history.csv beside it', async () => {
  await writeHistoryFiles(dir, history, testResults);
  const metrics = JSON.parse(await readFile(join(dir, 'metrics.json'), 'utf8'));
  assert.deepEqual(metrics, { history, test: testResults });
  assert.deepEqual(Object.keys(metrics.history[0]), [
    'epoch',
    'train_loss',
    'train_accuracy',
    'train_f1',
    'val_loss',
    'val_accuracy',
    'val_f1',
    'lr',
  ]);
  assert.equal(await readFile(join(dir, 'history.csv'), 'utf8'), historyToCsv(history));
  // Atomic writes leave no temporary files behind.
  assert.deepEqual((await readdir(dir)).sort(), ['history.csv', 'metrics.json']);
});

test('before the test phase metrics.json has test null', async () => {
  await writeHistoryFiles(dir, history.slice(0, 1), null);
  const metrics = JSON.parse(await readFile(join(dir, 'metrics.json'), 'utf8'));
  assert.equal(metrics.test, null);
  assert.equal(metrics.history.length, 1);
});
