/**
 * The scoring behind `ner-launch score`: checks that gold and prediction hold the same
 * sentences, then computes seqeval's figures and report text. Kept apart from the command
 * module, which loads it only when `score` runs (it pulls in the trainer package).
 */
import { UsageError } from '@ner-launch/common';
import {
  classificationReport,
  extractEntities,
  formatClassificationReport,
  formatFixed,
  InvalidTagError,
  nerScores,
  type NerScores,
  type OverallScores,
  readSentences,
  type ScoringMode,
  type Sentence,
} from '@ner-launch/trainer';

/** The sentences of one scored file. */
export interface ScoreInput {
  path: string;
  sentences: Sentence[];
}

/** Where a sentence came from: `file:line`, plus the CSV record number when there is one. */
function at(sentence: Sentence): string {
  const { file, line, record } = sentence.source;
  return record === undefined ? `${file}:${line}` : `${file}:${line} (record ${record})`;
}

/**
 * The tag sequences of gold and prediction, after checking that both files hold the same
 * sentences (count, lengths, tokens) in the same order; errors name both files and the record.
 */
export function alignTags(
  gold: ScoreInput,
  pred: ScoreInput,
): { gold: string[][]; pred: string[][] } {
  if (gold.sentences.length !== pred.sentences.length)
    throw new UsageError(
      `score: gold ${gold.path} has ${gold.sentences.length} sentences but prediction ` +
        `${pred.path} has ${pred.sentences.length}; both must hold the same sentences in the same order`,
    );
  gold.sentences.forEach((g, i) => {
    const p = pred.sentences[i];
    if (g.tags.length !== p.tags.length)
      throw new UsageError(
        `score: sentence ${i + 1} has ${g.tags.length} tokens in gold ${at(g)} but ` +
          `${p.tags.length} in prediction ${at(p)}`,
      );
    const j = g.tokens.findIndex((token, k) => token !== p.tokens[k]);
    if (j >= 0)
      throw new UsageError(
        `score: sentence ${i + 1} differs: token ${j + 1} is ${JSON.stringify(g.tokens[j])} in ` +
          `gold ${at(g)} but ${JSON.stringify(p.tokens[j])} in prediction ${at(p)}`,
      );
  });
  return { gold: gold.sentences.map((s) => s.tags), pred: pred.sentences.map((s) => s.tags) };
}

/** Rethrows a strict-mode tag error naming the file and record the tag is in. */
function checkTags(input: ScoreInput, role: string, mode: ScoringMode): void {
  try {
    extractEntities(
      input.sentences.map((s) => s.tags),
      mode,
    );
  } catch (error) {
    if (!(error instanceof InvalidTagError)) throw error;
    const sentence = input.sentences[error.sentence];
    throw new UsageError(
      `score: ${role} ${at(sentence)}: tag ${JSON.stringify(error.tag)} (token ${error.position + 1}) ` +
        error.reason,
      { cause: error },
    );
  }
}

/** The figures `score --json` prints, and the text report, for two read files. */
export function scoreFiles(
  gold: ScoreInput,
  pred: ScoreInput,
  mode: ScoringMode,
  digits = 4,
): { scores: NerScores; text: string } {
  const tags = alignTags(gold, pred);
  checkTags(gold, 'gold', mode);
  checkTags(pred, 'prediction', mode);
  const tokens = tags.gold.reduce((sum, s) => sum + s.length, 0);
  if (tokens === 0) throw new UsageError(`score: gold ${gold.path} holds no tokens to score`);
  const scores = nerScores(tags.gold, tags.pred, mode);
  const report = classificationReport(tags.gold, tags.pred, { mode, zeroDivision: 1 });
  const overallRow = (name: string, s: OverallScores): string =>
    name.padStart(12) +
    ' ' +
    [s.overall_precision, s.overall_recall, s.overall_f1, s.overall_accuracy]
      .map((v) => ` ${formatFixed(v, digits).padStart(9)}`)
      .join('');
  const text = [
    `gold: ${gold.path}`,
    `prediction: ${pred.path}`,
    `${tags.gold.length} sentences, ${tokens} tokens; seqeval ${mode} mode` +
      (mode === 'default' ? ' (conlleval-compatible)' : ' (strict IOB2)'),
    '',
    formatClassificationReport(report, digits),
    `${''.padStart(12)}  ${['precision', 'recall', 'f1-score', 'accuracy'].map((h) => h.padStart(9)).join(' ')}`,
    '',
    overallRow('overall', scores),
    overallRow('without O', scores.without_O),
    '',
    'Undefined ratios are 1 in the per-class report (seqeval zero_division=1, as the reference',
    "prints it) and 0 in the overall figures and in --json (evaluate's seqeval).",
    '',
  ].join('\n');
  return { scores, text };
}

/** Reads a whole CSV or CoNLL file (format from the extension) with the trainer's readers. */
export async function readSentenceFile(path: string): Promise<Sentence[]> {
  const sentences: Sentence[] = [];
  for await (const sentence of readSentences(path)) sentences.push(sentence);
  return sentences;
}
