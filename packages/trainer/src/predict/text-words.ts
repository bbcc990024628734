/**
 * Plain-text sentences → words for prediction: BERT's basic rules (clean text, split on
 * whitespace, isolate punctuation) without lowercasing or accent stripping, so each word is
 * the text the user wrote. Each word keeps its character offsets in the line, so entity text
 * can be cut from the original line rather than re-joined with spaces.
 */
import { BasicTokenizer } from '../tokenizer/basic-tokenizer.js';

/** A line split into words, with each word's [start, end) UTF-16 offsets in the line (-1 when not found verbatim). */
export interface TextWords {
  words: string[];
  starts: number[];
  ends: number[];
}

/** Splits one line of text into words with the tokenizer's basic rules (case kept). */
export function splitTextWords(line: string, tokenizeChineseChars = true): TextWords {
  const basic = new BasicTokenizer({
    doLowerCase: false,
    stripAccents: false,
    tokenizeChineseChars,
  });
  const words = basic.tokenize(line);
  const starts: number[] = [];
  const ends: number[] = [];
  let cursor = 0;
  for (const word of words) {
    // Cleaning only drops control characters, so a word is normally found verbatim; if not
    // (a control character inside it), its offsets stay unknown.
    const at = line.indexOf(word, cursor);
    if (at < 0) {
      starts.push(-1);
      ends.push(-1);
      continue;
    }
    starts.push(at);
    ends.push(at + word.length);
    cursor = at + word.length;
  }
  return { words, starts, ends };
}

/** The original text of words [start, end): the line's slice when offsets are known, else the words joined by spaces. */
export function wordSpanText(line: string, split: TextWords, start: number, end: number): string {
  const from = split.starts[start];
  const to = split.ends[end - 1];
  if (from !== undefined && to !== undefined && from >= 0 && to >= from)
    return line.slice(from, to);
  return split.words.slice(start, end).join(' ');
}
