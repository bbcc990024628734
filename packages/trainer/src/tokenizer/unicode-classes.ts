/**
 * Character classes exactly as the fast (Rust) BERT tokenizer sees them. Its Unicode tables are
 * older than Node's, so the classes come from generated range tables (unicode-tables.ts), not
 * from `\p{...}` regexes; lowercasing and NFD use Node's ICU with the few generated overrides.
 */
import {
  CHINESE_RANGES,
  CONTROL_RANGES,
  LOWERCASE_OVERRIDES,
  NFD_OVERRIDES,
  NONSPACING_MARK_RANGES,
  PUNCTUATION_RANGES,
  WHITESPACE_RANGES,
} from './unicode-tables.js';

/** Whether `cp` lies in one of the flat [first, last, ...] ranges (binary search). */
export function inRanges(ranges: readonly number[], cp: number): boolean {
  let lo = 0;
  let hi = ranges.length / 2 - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (cp < ranges[2 * mid]) hi = mid - 1;
    else if (cp > ranges[2 * mid + 1]) lo = mid + 1;
    else return true;
  }
  return false;
}

/** Deleted by text cleaning: NUL, U+FFFD, control/format/private-use (tab, LF, CR excepted). */
export function isControl(cp: number): boolean {
  // Lone surrogates cannot come from UTF-8 input; treat them as garbage to delete.
  return (cp >= 0xd800 && cp <= 0xdfff) || inRanges(CONTROL_RANGES, cp);
}

/** Mapped to a space by text cleaning (and split on by the pre-tokenizer). */
export function isWhitespace(cp: number): boolean {
  return inRanges(WHITESPACE_RANGES, cp);
}

/** A CJK ideograph that tokenize_chinese_chars surrounds with spaces. */
export function isChineseChar(cp: number): boolean {
  return inRanges(CHINESE_RANGES, cp);
}

/** Split off as a token of its own by the pre-tokenizer (ASCII symbols and Unicode P*). */
export function isPunctuation(cp: number): boolean {
  return inRanges(PUNCTUATION_RANGES, cp);
}

/** A non-spacing mark (Mn), removed when accents are stripped. */
export function isNonspacingMark(cp: number): boolean {
  return inRanges(NONSPACING_MARK_RANGES, cp);
}

/** Lowercases one character as Rust's `char::to_lowercase` (no context, so no final sigma). */
export function lowercaseChar(ch: string): string {
  return LOWERCASE_OVERRIDES.get(ch.codePointAt(0) ?? 0) ?? ch.toLowerCase();
}

/** Canonical decomposition (NFD), with Rust's result for characters Node decomposes differently. */
export function decomposeNfd(text: string): string {
  if (NFD_OVERRIDES.size === 0) return text.normalize('NFD');
  let out = '';
  let segment = '';
  for (const ch of text) {
    const override = NFD_OVERRIDES.get(ch.codePointAt(0) ?? 0);
    if (override === undefined) {
      segment += ch;
    } else {
      out += segment.normalize('NFD') + override;
      segment = '';
    }
  }
  return out + segment.normalize('NFD');
}
