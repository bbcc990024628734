import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { loadTrainingData } from '../../src/train/training-data.js';
import { REPO_ROOT } from '../../../../test/support/python.js';

const QUICKSTART_DATA = join(REPO_ROOT, 'examples', 'quickstart', 'data');
const root = await mkdtemp(join(tmpdir(), 'train-data-'));
after(() => rm(root, { recursive: true, force: true }));

test('with val.csv and test.csv present the three files are read as they are', async () => {
  const data = await loadTrainingData({ data_path: QUICKSTART_DATA, seed: 1 });
  assert.deepEqual([data.train.length, data.val.length, data.test.length], [600, 100, 100]);
  assert.equal(data.labels[0], 'O');
});

test('with only train.csv, --val_test_size carves validation and test sets from it', async () => {
  const dir = join(root, 'only-train');
  await mkdir(dir);
  await copyFile(join(QUICKSTART_DATA, 'train.csv'), join(dir, 'train.csv'));
  const data = await loadTrainingData({ data_path: dir, val_test_size: 0.1, seed: 42 });
  assert.deepEqual([data.train.length, data.val.length, data.test.length], [480, 60, 60]);
  assert.match(data.origin, /--val_test_size 0\.1 \(seed 42\): 480\/60\/60/);
  const again = await loadTrainingData({ data_path: dir, val_test_size: 0.1, seed: 42 });
  assert.deepEqual(
    again.val.map((s) => s.source.line),
    data.val.map((s) => s.source.line),
  );
});

test('without val_test_size a folder holding only train.csv is an error listing what is missing', async () => {
  await assert.rejects(
    loadTrainingData({ data_path: join(root, 'only-train'), seed: 1 }),
    /missing val\.csv, test\.csv/,
  );
  await assert.rejects(
    loadTrainingData({ data_path: join(root, 'nowhere'), seed: 1 }),
    /nowhere: --data_path: folder not found/,
  );
});
