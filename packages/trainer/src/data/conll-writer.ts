/** Writes sentences as CoNLL: `token<TAB>tag` per line, a blank line after each sentence. */
import { DataError } from './data-error.js';
import type { Sentence } from './sentence.js';

/** The lines of one sentence, ending with the blank separator line; rejects tokens CoNLL cannot hold. */
export function formatConllSentence(sentence: Sentence): string {
  let out = '';
  for (let i = 0; i < sentence.tokens.length; i++) {
    const token = sentence.tokens[i] ?? '';
    if (/[\t\n\r]/.test(token))
      throw new DataError(
        sentence.source.file,
        sentence.source.line,
        `token ${i + 1} ${JSON.stringify(token)} holds a tab or line break, which CoNLL cannot represent`,
        sentence.source.record,
      );
    out += `${token}\t${sentence.tags[i]}\n`;
  }
  return `${out}\n`;
}
