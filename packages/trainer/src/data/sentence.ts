/** One labelled sentence as every reader returns it. */
export interface Sentence {
  /** Words, already split (the CSV's `tokens` list or CoNLL's first column). */
  tokens: string[];
  /** One IOB2 tag per word (`O`, `B-PER`, `I-PER`, ...). */
  tags: string[];
  /**
   * Where it came from, for error messages: file path, 1-based line where the sentence starts
   * and, for CSV, the 1-based data record (header excluded).
   */
  source: { file: string; line: number; record?: number };
}
