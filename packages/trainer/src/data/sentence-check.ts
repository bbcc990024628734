/** The per-sentence rules every reader applies, so CSV and CoNLL input fail the same way. */
import { isIobTag } from './iob.js';

/** Describes what is wrong with a sentence's tokens/tags, or returns undefined when it is valid. */
export function sentenceProblem(
  tokens: readonly string[],
  tags: readonly string[],
): string | undefined {
  // An empty sentence cannot round-trip through CoNLL and is almost always a broken row.
  if (tokens.length === 0 && tags.length === 0) return 'sentence has no tokens';
  if (tokens.length !== tags.length)
    return `tokens and tags differ in length (${tokens.length} tokens, ${tags.length} tags)`;
  for (let i = 0; i < tokens.length; i++) {
    if (tokens[i] === '') return `token ${i + 1} is empty`;
    const tag = tags[i] ?? '';
    if (!isIobTag(tag))
      return `tag ${i + 1} ${JSON.stringify(tag)} is not an IOB tag (O, B-TYPE or I-TYPE)`;
  }
  return undefined;
}
