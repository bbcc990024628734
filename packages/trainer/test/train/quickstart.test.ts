import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { readSplits } from '../../src/data/splits.js';
import { BertTokenizer } from '../../src/tokenizer/bert-tokenizer.js';
import { isConfigOnlyDirectory } from '../../src/train/model-setup.js';
import { resolveTrainOptions } from '../../src/train/train-options.js';
import { REPO_ROOT } from '../../../../test/support/python.js';

const CONFIG = join(REPO_ROOT, 'configs', 'quickstart.yaml');

test('configs/quickstart.yaml resolves to the bundled data and config-only model', async () => {
  const o = await resolveTrainOptions({ config: CONFIG }, {});
  assert.equal(o.data_path, 'examples/quickstart/data/');
  assert.equal(o.model_name_or_path, 'examples/quickstart/model/');
  assert.equal(o.save_model_path, './runs/quickstart/');
  assert.equal(o.scheduler, 'linear');
  const cli = await resolveTrainOptions({ config: CONFIG, save_model_path: 'elsewhere' }, {});
  assert.equal(cli.save_model_path, 'elsewhere', 'a command-line flag wins over the file');
  assert.ok(isConfigOnlyDirectory(join(REPO_ROOT, o.model_name_or_path)));
});

test('the quickstart data reads cleanly: 600/100/100 sentences, PER ORG LOC DATE in IOB2', async () => {
  const splits = await readSplits(join(REPO_ROOT, 'examples', 'quickstart', 'data'));
  assert.deepEqual([splits.train.length, splits.val.length, splits.test.length], [600, 100, 100]);
  assert.deepEqual(splits.labels, [
    'O',
    'B-DATE',
    'B-LOC',
    'B-ORG',
    'B-PER',
    'I-DATE',
    'I-LOC',
    'I-ORG',
    'I-PER',
  ]);
});

test('the quickstart tokenizer is cased and covers the data without [UNK]', async () => {
  const dir = join(REPO_ROOT, 'examples', 'quickstart', 'model');
  const tokenizer = BertTokenizer.fromDirectory(dir);
  const config = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8'));
  assert.equal(config.vocab_size, tokenizer.vocabSize);
  const splits = await readSplits(join(REPO_ROOT, 'examples', 'quickstart', 'data'));
  let unknown = 0;
  for (const s of [...splits.train, ...splits.val, ...splits.test])
    unknown += tokenizer
      .encodeWords(s.tokens)
      .inputIds.filter((id) => id === tokenizer.unkId).length;
  assert.equal(unknown, 0);
  const ids = tokenizer.encodeWords(['Helsingissä']).inputIds;
  assert.notDeepEqual(ids, tokenizer.encodeWords(['helsingissä']).inputIds, 'case matters');
});
