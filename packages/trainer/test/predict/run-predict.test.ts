import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { readDataset } from '../../src/data/dataset.js';
import { readSafetensors, writeSafetensors } from '../../src/model/weights/safetensors.js';
import { Predictor } from '../../src/predict/predictor.js';
import { runPredict } from '../../src/predict/run-predict.js';
import { wordPredictions } from '../../src/tokenizer/label-alignment.js';
import { makeTinyCheckpoint, TINY_LABELS } from '../../../../test/support/tiny-checkpoint.js';
import { NER_LAUNCH_BIN } from '../../../../test/support/cli.js';

const SENTENCES = [
  ['Matti', 'Meikäläinen', 'asuu', 'Helsingissä', '.'],
  ['Nokia'],
  [
    'Liisa',
    'työskentelee',
    'Nokia',
    'Oyj',
    ':n',
    'kaupungissa',
    'Turku',
    ',',
    'ja',
    'on',
    'yritys',
    '!',
  ],
  ['on', 'yritys'],
  ['Turussa', 'asuu', 'Matti', '.'],
];

let work: string;
let modelDir: string;
let predictor: Predictor;
before(async () => {
  work = mkdtempSync(join(tmpdir(), 'predict-run-'));
  modelDir = await makeTinyCheckpoint(join(work, 'model'));
  predictor = await Predictor.load(modelDir);
});
after(() => {
  predictor?.dispose();
  rmSync(work, { recursive: true, force: true });
});

/** Word tags from the model's logits, one unpadded sentence at a time: what batching must reproduce. */
function directTags(words: readonly string[]): string[] {
  const encoded = predictor.tokenizer.encodeWords(words);
  const shape: [number, number] = [1, encoded.inputIds.length];
  const ids = tf.tensor2d(encoded.inputIds, shape, 'int32');
  const mask = tf.ones(shape, 'int32');
  const { logits } = predictor.model.forward(ids, mask);
  const best = Array.from(tf.argMax(logits, -1).dataSync());
  tf.dispose([ids, mask, logits]);
  return wordPredictions(encoded.wordIds, best, words.length).map((id) => TINY_LABELS[id ?? 0]!);
}

/** An assert.rejects check: the error message begins with `prefix` (file and line first). */
function startsWith(prefix: string): (error: Error) => boolean {
  return (error) => {
    assert.ok(error.message.startsWith(prefix), `${error.message} should start with ${prefix}`);
    return true;
  };
}

/** Collects what runPredict writes to "stdout". */
function sink(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      chunks.push(String(chunk));
      done();
    },
  });
  return { stream, text: () => chunks.join('') };
}

describe('Predictor', () => {
  test('batched, length-sorted predictions equal the argmax of the logits sentence by sentence, in input order', () => {
    const expected = SENTENCES.map(directTags);
    const labelsSeen = new Set(expected.flat());
    assert.ok(labelsSeen.size >= 3, `the fixture model predicts varied tags (${[...labelsSeen]})`);
    for (const batchSize of [1, 2, 32]) {
      const { tags, summary } = predictor.predict(SENTENCES, { batchSize, maxLength: 64 });
      assert.deepEqual(tags, expected, `batch size ${batchSize}`);
      assert.equal(summary.batches, Math.ceil(SENTENCES.length / batchSize));
    }
  });

  test('a sentence longer than max_len gets every word predicted, each window as the model sees it alone', () => {
    const long = SENTENCES[2]!;
    const { tags, summary } = predictor.predict([long], { batchSize: 4, maxLength: 8 });
    assert.equal(summary.splitSentences, 1);
    assert.equal(tags[0]!.length, long.length);
    // Rebuild the windows' word ranges and predict each range directly.
    const expected: string[] = [];
    let start = 0;
    let used = 0;
    long.forEach((word, i) => {
      const pieces = predictor.tokenizer.encodeWord(word).length;
      if (used + pieces > 6) {
        expected.push(...directTags(long.slice(start, i)));
        start = i;
        used = 0;
      }
      used += pieces;
    });
    expected.push(...directTags(long.slice(start)));
    assert.deepEqual(tags[0], expected);
  });

  test('max_len beyond the position embeddings is refused naming config.json', () => {
    assert.throws(
      () => predictor.predict([['a']], { batchSize: 1, maxLength: 65 }),
      /max_len 65 exceeds the model's max_position_embeddings 64 .*config\.json/,
    );
  });
});

describe('runPredict', () => {
  test('CSV input comes back as CSV with the predicted tags, sentences and tokens unchanged', async () => {
    const input = join(work, 'in.csv');
    const rows = SENTENCES.map(
      (words) =>
        `"[${words.map((w) => `'${w}'`).join(', ')}]","[${words.map(() => "'O'").join(', ')}]"`,
    );
    writeFileSync(input, `tokens,tags\n${rows.join('\n')}\n`);
    const output = join(work, 'out', 'pred.csv');
    const summary = await runPredict({
      model: modelDir,
      input,
      output,
      batchSize: 2,
      maxLen: 64,
      backend: 'wasm',
      progress: false,
    });
    assert.equal(summary.sentences, SENTENCES.length);
    const written = await readDataset(output);
    assert.deepEqual(
      written.sentences.map((s) => s.tokens),
      SENTENCES,
    );
    assert.deepEqual(
      written.sentences.map((s) => s.tags),
      SENTENCES.map(directTags),
    );
  });

  test('CoNLL input goes to stdout as CoNLL when no output file is given', async () => {
    const input = join(work, 'in.tsv');
    writeFileSync(
      input,
      SENTENCES.map((words) => words.map((w) => `${w}\tO\n`).join('')).join('\n'),
    );
    const out = sink();
    await runPredict({
      model: modelDir,
      input,
      batchSize: 3,
      maxLen: 64,
      backend: 'wasm',
      progress: false,
      stdout: out.stream,
    });
    const expected = SENTENCES.map((words) => {
      const tags = directTags(words);
      return words.map((w, i) => `${w}\t${tags[i]}\n`).join('') + '\n';
    }).join('');
    assert.equal(out.text(), expected);
  });

  test('plain text gives one JSON line per input line with tokens, tags and entity spans', async () => {
    const lines = ['Matti Meikäläinen asuu Helsingissä.', '', 'Nokia Oyj on yritys, Liisa!'];
    const input = join(work, 'in.txt');
    writeFileSync(input, `${lines.join('\r\n')}\n`);
    const output = join(work, 'pred.jsonl');
    await runPredict({
      model: modelDir,
      input,
      format: 'text',
      output,
      batchSize: 2,
      maxLen: 64,
      backend: 'wasm',
      progress: false,
    });
    const records = readFileSync(output, 'utf8')
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.equal(records.length, lines.length);
    records.forEach((record, i) => {
      assert.equal(record.text, lines[i]);
      assert.deepEqual(record.tags, directTags(record.tokens));
      for (const e of record.entities) {
        assert.equal(record.tags[e.start].slice(2), e.type);
        assert.ok(e.end > e.start && e.end <= record.tokens.length);
        assert.ok(lines[i]!.includes(e.text), 'entity text is cut from the line');
        assert.ok(
          e.text.startsWith(record.tokens[e.start]) && e.text.endsWith(record.tokens[e.end - 1]),
        );
      }
    });
    assert.deepEqual(records[0].tokens, ['Matti', 'Meikäläinen', 'asuu', 'Helsingissä', '.']);
    assert.deepEqual(records[1], { text: '', tokens: [], tags: [], entities: [] });
    const spans = records.flatMap((r) => r.entities);
    assert.ok(spans.length > 0, 'the fixture model finds some entities');
  });

  test('an input longer than one prediction chunk (4096 sentences) comes out whole and in order', async () => {
    const words = ['Matti', 'asuu', 'Helsinki', 'Nokia', 'Liisa', 'Turku'];
    const lines = Array.from({ length: 5000 }, (_, i) =>
      Array.from({ length: 1 + (i % 4) }, (_, j) => words[(i + j) % words.length]).join(' '),
    );
    const input = join(work, 'many.txt');
    writeFileSync(input, `${lines.join('\n')}\n`);
    const output = join(work, 'many.jsonl');
    const summary = await runPredict({
      model: modelDir,
      input,
      format: 'text',
      output,
      batchSize: 64,
      maxLen: 64,
      backend: 'wasm',
      progress: false,
    });
    const records = readFileSync(output, 'utf8')
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.equal(summary.sentences, 5000);
    assert.equal(records.length, 5000);
    records.forEach((record, i) => {
      assert.equal(record.text, lines[i]);
      assert.deepEqual(record.tags, directTags(record.tokens));
    });
  });

  test('a piped input (--input /dev/stdin), which can be read only once, is predicted whole', () => {
    const lines = ['Matti asuu Helsinki', '', 'Liisa'];
    // Through a shell pipe (spawnSync's own stdin is a socket, which /dev/stdin cannot open).
    const run = spawnSync(
      'sh',
      [
        '-c',
        'printf "%s" "$INPUT" | "$NODE" "$BIN" predict --model "$MODEL" --input /dev/stdin --format text --backend wasm',
      ],
      {
        encoding: 'utf8',
        env: {
          ...process.env,
          NER_LOG_LEVEL: 'error',
          INPUT: `${lines.join('\n')}\n`,
          NODE: process.execPath,
          BIN: NER_LAUNCH_BIN,
          MODEL: modelDir,
        },
      },
    );
    assert.equal(run.status, 0, run.stderr);
    const records = run.stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as { text: string });
    assert.deepEqual(
      records.map((r) => r.text),
      lines,
    );
  });

  test('a missing model directory is an error naming it', async () => {
    const input = join(work, 'ok.txt');
    writeFileSync(input, 'Matti\n');
    const missing = join(work, 'no-such-model');
    await assert.rejects(
      runPredict({
        model: missing,
        input,
        format: 'text',
        batchSize: 1,
        maxLen: 16,
        backend: 'wasm',
        progress: false,
        stdout: sink().stream,
      }),
      startsWith(`${missing}: no such directory`),
    );
  });

  test('a bad CSV record is an error naming the file and line, before the model is loaded', async () => {
    const input = join(work, 'bad.csv');
    writeFileSync(input, `tokens,tags\n"['a', 'b']","['O', 'O']"\n"['a', 'b'","['O', 'O']"\n`);
    await assert.rejects(
      runPredict({
        model: join(work, 'no-such-model'),
        input,
        batchSize: 1,
        maxLen: 16,
        backend: 'wasm',
        progress: false,
        stdout: sink().stream,
      }),
      startsWith(`${input}:3: `),
    );
  });

  test('invalid UTF-8 in a text line is an error naming the file and line', async () => {
    const input = join(work, 'bad.txt');
    writeFileSync(input, Buffer.concat([Buffer.from('Matti\nasuu \xff\n', 'latin1')]));
    await assert.rejects(
      runPredict({
        model: modelDir,
        input,
        format: 'text',
        batchSize: 1,
        maxLen: 16,
        backend: 'wasm',
        progress: false,
        stdout: sink().stream,
      }),
      startsWith(`${input}:2: invalid UTF-8`),
    );
  });

  test('a .txt file read as CoNLL by default fails with a hint to pass --format text', async () => {
    const input = join(work, 'sentences.txt');
    writeFileSync(input, 'Matti asuu Turussa.\n');
    await assert.rejects(
      runPredict({
        model: modelDir,
        input,
        batchSize: 1,
        maxLen: 16,
        backend: 'wasm',
        progress: false,
        stdout: sink().stream,
      }),
      (error: Error) => {
        assert.ok(error.message.startsWith(`${input}:1: `), error.message);
        assert.match(error.message, /pass --format text/);
        return true;
      },
    );
  });

  test('a checkpoint without a trained classifier is refused naming its weight file', async () => {
    const dir = join(work, 'no-classifier');
    cpSync(modelDir, dir, { recursive: true });
    const weights = join(dir, 'model.safetensors');
    const { tensors } = await readSafetensors(weights);
    tensors.delete('classifier.weight');
    tensors.delete('classifier.bias');
    await writeSafetensors(weights, tensors);
    const input = join(work, 'one-line.txt');
    writeFileSync(input, 'Matti\n');
    await assert.rejects(
      runPredict({
        model: dir,
        input,
        format: 'text',
        batchSize: 1,
        maxLen: 16,
        backend: 'wasm',
        progress: false,
        stdout: sink().stream,
      }),
      startsWith(
        `${weights}: is not a trained token-classification model: it lacks classifier.bias, classifier.weight`,
      ),
    );
  });

  test('a missing input file is an error naming it', async () => {
    const input = join(work, 'absent.csv');
    await assert.rejects(
      runPredict({
        model: modelDir,
        input,
        batchSize: 1,
        maxLen: 16,
        backend: 'wasm',
        progress: false,
        stdout: sink().stream,
      }),
      startsWith(`${input}: file not found`),
    );
  });
});
