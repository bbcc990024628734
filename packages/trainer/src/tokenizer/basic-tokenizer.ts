/**
 * BERT's basic tokenization as the fast tokenizer does it: the BertNormalizer (clean text,
 * pad CJK ideographs, strip accents, lowercase — in that order) followed by the BertPreTokenizer
 * (split on whitespace, isolate every punctuation character).
 */
import {
  decomposeNfd,
  isChineseChar,
  isControl,
  isNonspacingMark,
  isPunctuation,
  isWhitespace,
  lowercaseChar,
} from './unicode-classes.js';

/** Normalizer settings, named as in tokenizer_config.json. */
export interface BasicTokenizerOptions {
  /** Lowercase the text (`do_lower_case`). */
  doLowerCase: boolean;
  /** Strip accents; null follows doLowerCase, as in the original BERT. */
  stripAccents: boolean | null;
  /** Put spaces around CJK ideographs so each becomes a word. */
  tokenizeChineseChars: boolean;
}

/** Runs the BERT normalizer on one piece of text. */
export function normalizeBertText(text: string, options: BasicTokenizerOptions): string {
  let out = '';
  for (const ch of text) {
    const cp = ch.codePointAt(0) ?? 0;
    if (cp === 0 || cp === 0xfffd || isControl(cp)) continue;
    if (isWhitespace(cp)) out += ' ';
    else if (options.tokenizeChineseChars && isChineseChar(cp)) out += ` ${ch} `;
    else out += ch;
  }
  // Rust strips accents before lowercasing (Python's slow tokenizer does the reverse).
  if (options.stripAccents ?? options.doLowerCase) {
    let stripped = '';
    for (const ch of decomposeNfd(out)) {
      if (!isNonspacingMark(ch.codePointAt(0) ?? 0)) stripped += ch;
    }
    out = stripped;
  }
  if (options.doLowerCase) {
    let lowered = '';
    // Per character, like Rust: "ΣΑΣ" gives "σασ", not "σας" as String#toLowerCase would.
    for (const ch of out) lowered += lowercaseChar(ch);
    out = lowered;
  }
  return out;
}

/** Splits normalized text on whitespace and around each punctuation character. */
export function preTokenizeBert(text: string): string[] {
  const pieces: string[] = [];
  let current = '';
  for (const ch of text) {
    const cp = ch.codePointAt(0) ?? 0;
    if (isWhitespace(cp)) {
      if (current) pieces.push(current);
      current = '';
    } else if (isPunctuation(cp)) {
      if (current) pieces.push(current);
      pieces.push(ch);
      current = '';
    } else {
      current += ch;
    }
  }
  if (current) pieces.push(current);
  return pieces;
}

/** Normalizer + pre-tokenizer: text in, the pieces WordPiece will see out. */
export class BasicTokenizer {
  constructor(readonly options: BasicTokenizerOptions) {}

  /** The pre-tokenized pieces of `text` (possibly none, e.g. for control characters only). */
  tokenize(text: string): string[] {
    return preTokenizeBert(normalizeBertText(text, this.options));
  }
}
