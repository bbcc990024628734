import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import yargs from 'yargs';
import { formatConllSentence, nerScores, type NerScores, type Sentence } from '@ner-launch/trainer';
import { makeScoreCommand } from '../../src/commands/score.js';
import { alignTags, readSentenceFile, scoreFiles, type ScoreInput } from '../../src/score-files.js';
import {
  REPO_ROOT,
  runReference,
  skipWithoutPython,
  skipWithoutTurku,
  TURKU_DIR,
} from '../../../../test/support/python.js';

function sentences(file: string, rows: [string[], string[]][]): Sentence[] {
  return rows.map(([tokens, tags], i) => ({ tokens, tags, source: { file, line: i + 2 } }));
}

const GOLD: ScoreInput = {
  path: 'gold.csv',
  sentences: sentences('gold.csv', [
    [
      ['Matti', 'asuu', 'Turussa'],
      ['B-PER', 'O', 'B-LOC'],
    ],
    [
      ['Nokia', 'Oyj'],
      ['B-ORG', 'I-ORG'],
    ],
  ]),
};
const PRED: ScoreInput = {
  path: 'pred.csv',
  sentences: sentences('pred.csv', [
    [
      ['Matti', 'asuu', 'Turussa'],
      ['B-PER', 'O', 'O'],
    ],
    [
      ['Nokia', 'Oyj'],
      ['I-ORG', 'I-ORG'],
    ],
  ]),
};

test('score --json figures are evaluate seqeval figures plus without-O ones', () => {
  const { scores } = scoreFiles(GOLD, PRED, 'default');
  assert.deepEqual(scores, {
    overall_precision: 1,
    overall_recall: 2 / 3,
    overall_f1: 0.8,
    overall_accuracy: 0.6, // 3 of 5 tags equal
    per_class: {
      LOC: { precision: 0, recall: 0, f1: 0, number: 1 },
      ORG: { precision: 1, recall: 1, f1: 1, number: 1 },
      PER: { precision: 1, recall: 1, f1: 1, number: 1 },
    },
    without_O: {
      overall_precision: 1,
      overall_recall: 2 / 3,
      overall_f1: 0.8,
      overall_accuracy: 0.5,
    },
  });
});

test('strict mode does not count an entity that starts with I-', () => {
  const { scores } = scoreFiles(GOLD, PRED, 'strict');
  assert.equal(scores.overall_precision, 1);
  assert.equal(scores.overall_recall, 1 / 3);
});

test('the text report holds seqeval classification report and the overall and without-O rows', () => {
  const { text } = scoreFiles(GOLD, PRED, 'default', 2);
  assert.ok(text.includes('         LOC       1.00      0.00      0.00         1\n'), text);
  assert.ok(text.includes('   micro avg       1.00      0.67      0.80         3\n'), text);
  assert.match(text, /\n {5}overall {7}1\.00 {6}0\.67 {6}0\.80 {6}0\.60\n/);
  assert.match(text, /\n {3}without O {7}1\.00 {6}0\.67 {6}0\.80 {6}0\.50\n/);
});

test('different sentence counts name both files', () => {
  assert.throws(
    () => alignTags(GOLD, { path: 'short.csv', sentences: PRED.sentences.slice(0, 1) }),
    /^UsageError: score: gold gold.csv has 2 sentences but prediction short.csv has 1;/,
  );
});

test('a sentence of different length names both files and records', () => {
  const pred = sentences('pred.csv', [
    [
      ['Matti', 'asuu', 'Turussa'],
      ['B-PER', 'O', 'O'],
    ],
    [['Nokia'], ['B-ORG']],
  ]);
  assert.throws(
    () => alignTags(GOLD, { path: 'pred.csv', sentences: pred }),
    /score: sentence 2 has 2 tokens in gold gold.csv:3 but 1 in prediction pred.csv:3/,
  );
});

test('a different token names the sentence, the token and both records', () => {
  const pred = sentences('pred.csv', [
    [
      ['Matti', 'asui', 'Turussa'],
      ['B-PER', 'O', 'O'],
    ],
    [
      ['Nokia', 'Oyj'],
      ['B-ORG', 'I-ORG'],
    ],
  ]);
  assert.throws(
    () => alignTags(GOLD, { path: 'pred.csv', sentences: pred }),
    /sentence 1 differs: token 2 is "asuu" in gold gold.csv:2 but "asui" in prediction pred.csv:2/,
  );
});

test('strict mode names the file and record of a tag it cannot read', () => {
  const pred = sentences('pred.csv', [
    [
      ['Matti', 'asuu', 'Turussa'],
      ['B-PER', 'O', 'O'],
    ],
    [
      ['Nokia', 'Oyj'],
      ['B-ORG', 'E-ORG'],
    ],
  ]);
  assert.throws(
    () => scoreFiles(GOLD, { path: 'pred.csv', sentences: pred }, 'strict'),
    /score: prediction pred.csv:3: tag "E-ORG" \(token 2\) is not valid in strict IOB2 mode \(allowed prefixes: B-, I-, O\)$/,
  );
});

test('the score command reads both files and prints JSON with --json', async () => {
  const files: Record<string, Sentence[]> = { 'g.tsv': GOLD.sentences, 'p.tsv': PRED.sentences };
  const command = makeScoreCommand(async (path) => files[path]);
  const written: string[] = [];
  const original = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array) => {
    // The test runner's own (binary) reports pass through: the handler awaits a module load,
    // during which the runner may write.
    if (typeof chunk !== 'string') return original(chunk);
    written.push(chunk);
    return true;
  }) as typeof process.stdout.write;
  try {
    await yargs(['score', '--gold', 'g.tsv', '--pred', 'p.tsv', '--json', '--mode', 'strict'])
      .command(command)
      .strict()
      .fail((message, error) => {
        throw error ?? new Error(message);
      })
      .parseAsync();
  } finally {
    process.stdout.write = original;
  }
  const printed = JSON.parse(written.join('')) as { overall_recall: number; without_O: object };
  assert.equal(printed.overall_recall, 1 / 3);
  assert.deepEqual(Object.keys(printed), [
    'overall_precision',
    'overall_recall',
    'overall_f1',
    'overall_accuracy',
    'per_class',
    'without_O',
  ]);
});

const BIN = join(REPO_ROOT, 'packages', 'launcher', 'bin', 'ner-launch.mjs');

function runCli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

test(
  'ner-launch score reads a CSV gold file and a CoNLL prediction and prints seqeval figures as JSON',
  { skip: skipWithoutTurku() || skipWithoutPython(), timeout: 120_000 },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'score-'));
    try {
      const goldPath = join(TURKU_DIR, 'test.csv');
      const gold = await readSentenceFile(goldPath);
      let state = 12345;
      const next = (): number => (state = (state * 1103515245 + 12345) % 2147483648) / 2147483648;
      const types = ['PER', 'ORG', 'LOC', 'PRO', 'EVENT', 'DATE'];
      const pred = gold.map((s) => ({
        ...s,
        tags: s.tags.map((tag) => {
          if (next() > 0.1) return tag;
          const r = next();
          if (r < 0.3) return 'O';
          if (r < 0.6 && tag !== 'O') return (tag[0] === 'B' ? 'I' : 'B') + tag.slice(1);
          return `${next() < 0.5 ? 'B' : 'I'}-${types[Math.floor(next() * types.length)]}`;
        }),
      }));
      const predPath = join(dir, 'pred.tsv');
      writeFileSync(predPath, pred.map((s) => formatConllSentence(s)).join(''));
      const { status, stdout, stderr } = runCli([
        'score',
        '--gold',
        goldPath,
        '--pred',
        predPath,
        '--json',
      ]);
      assert.equal(status, 0, stderr.slice(0, 2000));
      const printed = JSON.parse(stdout) as NerScores;
      const goldTags = gold.map((s) => s.tags);
      const predTags = pred.map((s) => s.tags);
      assert.deepEqual(printed, nerScores(goldTags, predTags));
      // And against seqeval itself (evaluate's wrapper), within 1e-9.
      const py = JSON.parse(
        runReference(
          'seqeval_reference.py',
          [],
          JSON.stringify({ cases: [{ gold: goldTags, pred: predTags, mode: 'default' }] }),
        ),
      ) as { results: { evaluate: Record<string, number>; without_O: Record<string, number> }[] };
      const expected = py.results[0];
      for (const key of [
        'overall_precision',
        'overall_recall',
        'overall_f1',
        'overall_accuracy',
      ] as const) {
        assert.ok(Math.abs(printed[key] - expected.evaluate[key]) <= 1e-9, key);
        assert.ok(
          Math.abs(printed.without_O[key] - expected.without_O[key]) <= 1e-9,
          `without O ${key}`,
        );
      }
      assert.ok(printed.overall_f1 > 0.5 && printed.overall_f1 < 0.95, `f1 ${printed.overall_f1}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

test('ner-launch score fails naming both files when the prediction has fewer sentences', () => {
  const dir = mkdtempSync(join(tmpdir(), 'score-'));
  try {
    const goldPath = join(dir, 'gold.tsv');
    const predPath = join(dir, 'pred.tsv');
    writeFileSync(goldPath, 'Matti\tB-PER\nasuu\tO\n\nNokia\tB-ORG\n');
    writeFileSync(predPath, 'Matti\tB-PER\nasuu\tO\n');
    const { status, stdout, stderr } = runCli(['score', '--gold', goldPath, '--pred', predPath]);
    assert.equal(status, 2);
    assert.equal(stdout, '');
    assert.ok(
      stderr.includes(`score: gold ${goldPath} has 2 sentences but prediction ${predPath} has 1`),
      stderr,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
