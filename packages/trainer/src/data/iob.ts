/**
 * IOB2 tag rules shared by readers, label sets and summaries. Only `O`, `B-TYPE` and `I-TYPE`
 * are tags; anything else (`X-PER`, `B-`, IOBES `S-PER`) is malformed input. An `I-` that does
 * not continue an entity of its type is a legal but suspicious *sequence*: it is counted, not
 * rejected, because seqeval and the reference trainer accept it.
 */

/** True for `O`, `B-X` and `I-X` with a non-empty type X. */
export function isIobTag(tag: string): boolean {
  if (tag === 'O') return true;
  return tag.length > 2 && (tag[0] === 'B' || tag[0] === 'I') && tag[1] === '-';
}

/** Entity type of a tag (`PER` for `B-PER`), undefined for `O`. */
export function entityType(tag: string): string | undefined {
  return tag === 'O' ? undefined : tag.slice(2);
}

/** Number of `I-X` tags that follow `O`, the sentence start or a tag of another type. */
export function countInvalidIobSequences(tags: readonly string[]): number {
  let count = 0;
  let previous = 'O';
  for (const tag of tags) {
    if (tag.startsWith('I-') && (previous === 'O' || previous.slice(2) !== tag.slice(2))) count++;
    previous = tag;
  }
  return count;
}
