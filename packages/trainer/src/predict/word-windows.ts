/**
 * Sentences → model inputs for prediction. A sentence that fits in max_len tokens is one
 * window, encoded exactly as training encodes it ([CLS] word pieces [SEP]). A longer one is cut
 * at word boundaries into further windows, so that every word gets a prediction instead of
 * being lost to truncation as in training; callers report how many sentences needed that.
 */
import type { BertTokenizer } from '../tokenizer/bert-tokenizer.js';

/** One model input: a slice of one sentence's words. */
export interface WordWindow {
  /** Index of the sentence in the input. */
  sentence: number;
  /** Token ids, [CLS] first and [SEP] last. */
  inputIds: number[];
  /** Sentence-level word index of each token; null for [CLS]/[SEP]. */
  wordIds: (number | null)[];
}

/** What windowing did. */
export interface WindowSummary {
  sentences: number;
  words: number;
  windows: number;
  /** Sentences longer than max_len, predicted in more than one window. */
  splitSentences: number;
  /** Words longer than max_len - 2 pieces on their own; their tail pieces were dropped (the first piece carries the prediction). */
  cutWords: number;
  /** Words that give no token at all (only control or zero-width characters); tagged O. */
  emptyWords: number;
}

/** Cuts `sentences` (lists of words) into windows of at most `maxLength` tokens. */
export function wordWindows(
  tokenizer: BertTokenizer,
  sentences: readonly (readonly string[])[],
  maxLength: number,
): { windows: WordWindow[]; summary: WindowSummary } {
  if (!Number.isInteger(maxLength) || maxLength < 3)
    throw new Error(
      `max_len must be an integer >= 3 (room for [CLS], [SEP] and one word piece), got ${maxLength}`,
    );
  const budget = maxLength - 2;
  const windows: WordWindow[] = [];
  const summary: WindowSummary = {
    sentences: sentences.length,
    words: 0,
    windows: 0,
    splitSentences: 0,
    cutWords: 0,
    emptyWords: 0,
  };
  sentences.forEach((words, sentence) => {
    summary.words += words.length;
    let ids: number[] = [];
    let wordIds: number[] = [];
    let count = 0;
    const flush = (): void => {
      windows.push({
        sentence,
        inputIds: [tokenizer.clsId, ...ids, tokenizer.sepId],
        wordIds: [null, ...wordIds, null],
      });
      count++;
      ids = [];
      wordIds = [];
    };
    words.forEach((word, index) => {
      let pieces = tokenizer.encodeWord(word);
      if (pieces.length === 0) {
        summary.emptyWords++;
        return;
      }
      if (pieces.length > budget) {
        summary.cutWords++;
        pieces = pieces.slice(0, budget);
      }
      if (ids.length + pieces.length > budget) flush();
      for (const id of pieces) {
        ids.push(id);
        wordIds.push(index);
      }
    });
    // An empty sentence (or one of empty words only) still gets its one window, as training.
    if (ids.length > 0 || count === 0) flush();
    if (count > 1) summary.splitSentences++;
  });
  summary.windows = windows.length;
  return { windows, summary };
}
