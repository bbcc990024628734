/**
 * Word labels → token labels (training targets) and token predictions → word predictions
 * (scoring), as the reference trainer does it.
 */

/** Token label ignored by the loss (special tokens, and later sub-tokens when not labelled). */
export const IGNORE_LABEL = -100;

/** Options of `alignLabels`. */
export interface AlignOptions {
  /** Label every sub-token (B-X becomes I-X after the first); false gives them -100. */
  labelAllSubtokens: boolean;
}

/**
 * Token-level label ids for one sentence: a word's first sub-token gets its label, later
 * sub-tokens the same label with B-X turned into I-X (when I-X is a known label), or -100 when
 * `labelAllSubtokens` is false; `[CLS]`/`[SEP]` get -100.
 */
export function alignLabels(
  wordIds: readonly (number | null)[],
  tags: readonly string[],
  labelList: readonly string[],
  options: AlignOptions,
): number[] {
  const labelToId = new Map(labelList.map((label, id) => [label, id]));
  const idOf = (tag: string): number => {
    const id = labelToId.get(tag);
    if (id === undefined)
      throw new Error(`tag ${tag} is not in the label set [${labelList.join(', ')}]`);
    return id;
  };
  const labels: number[] = [];
  let previous: number | null = null;
  for (const wordId of wordIds) {
    if (wordId === null) {
      labels.push(IGNORE_LABEL);
    } else if (wordId !== previous) {
      labels.push(idOf(tags[wordId]));
    } else if (options.labelAllSubtokens) {
      const tag = tags[wordId];
      const inside = tag.startsWith('B-') ? `I-${tag.slice(2)}` : tag;
      labels.push(labelToId.has(inside) ? idOf(inside) : idOf(tag));
    } else {
      labels.push(IGNORE_LABEL);
    }
    previous = wordId;
  }
  return labels;
}

/**
 * One prediction per word: the prediction at the word's first sub-token. Words with no token
 * (emptied by text cleaning, or cut off by truncation) get null; the reference trainer scores
 * only positions whose label is not -100, i.e. it drops those words from gold and prediction.
 */
export function wordPredictions<T>(
  wordIds: readonly (number | null)[],
  tokenPredictions: readonly T[],
  wordCount: number,
): (T | null)[] {
  if (tokenPredictions.length < wordIds.length)
    throw new Error(`${tokenPredictions.length} token predictions for ${wordIds.length} tokens`);
  const out: (T | null)[] = new Array<T | null>(wordCount).fill(null);
  const seen = new Set<number>();
  wordIds.forEach((wordId, position) => {
    if (wordId === null || seen.has(wordId)) return;
    if (wordId >= wordCount) throw new Error(`word id ${wordId} out of range (${wordCount} words)`);
    seen.add(wordId);
    out[wordId] = tokenPredictions[position];
  });
  return out;
}
