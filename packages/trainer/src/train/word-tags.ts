/**
 * Token predictions → word tags for scoring, as the reference scores: one prediction per word
 * (its first sub-token); words left without a token (cut by truncation) are dropped from gold
 * and prediction alike, as the reference drops positions labelled -100.
 */
import { wordPredictions } from '../tokenizer/label-alignment.js';

/** Gold and predicted tags of one sentence, over the words that have a token. */
export interface ScoredSentence {
  gold: string[];
  pred: string[];
}

/** Pairs a sentence's gold tags with the predictions at its words' first sub-tokens. */
export function scoreSentence(
  wordIds: readonly (number | null)[],
  tokenPredictions: ArrayLike<number>,
  goldTags: readonly string[],
  labels: readonly string[],
): ScoredSentence {
  const perWord = wordPredictions(wordIds, Array.from(tokenPredictions), goldTags.length);
  const gold: string[] = [];
  const pred: string[] = [];
  perWord.forEach((p, i) => {
    if (p === null) return;
    gold.push(goldTags[i]);
    pred.push(labels[p] ?? 'O');
  });
  return { gold, pred };
}
