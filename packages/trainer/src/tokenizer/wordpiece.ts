/** Greedy longest-match-first WordPiece, as the `tokenizers` WordPiece model. */

/** WordPiece settings (tokenizer.json's `model` section). */
export interface WordPieceOptions {
  /** Token used for unknown words. */
  unkToken: string;
  /** Prefix of word-internal pieces. */
  continuingSubwordPrefix: string;
  /** Words longer than this (in code points) become the unknown token. */
  maxInputCharsPerWord: number;
}

/** Default WordPiece settings of BERT. */
export const DEFAULT_WORDPIECE_OPTIONS: WordPieceOptions = {
  unkToken: '[UNK]',
  continuingSubwordPrefix: '##',
  maxInputCharsPerWord: 100,
};

/** A vocabulary plus the greedy sub-word splitter. */
export class WordPiece {
  readonly unkId: number;

  constructor(
    readonly vocab: ReadonlyMap<string, number>,
    readonly options: WordPieceOptions = DEFAULT_WORDPIECE_OPTIONS,
  ) {
    const unkId = vocab.get(options.unkToken);
    if (unkId === undefined)
      throw new Error(`WordPiece: unknown token ${options.unkToken} is not in the vocabulary`);
    this.unkId = unkId;
  }

  /** Ids of one pre-tokenized piece: longest vocab matches left to right, or [unk] for the whole piece. */
  tokenize(piece: string): number[] {
    const chars = Array.from(piece);
    if (chars.length > this.options.maxInputCharsPerWord) return [this.unkId];
    const ids: number[] = [];
    let start = 0;
    while (start < chars.length) {
      let found: number | undefined;
      let end = chars.length;
      for (; end > start; end--) {
        let sub = chars.slice(start, end).join('');
        if (start > 0) sub = this.options.continuingSubwordPrefix + sub;
        found = this.vocab.get(sub);
        if (found !== undefined) break;
      }
      // One unmatched position makes the whole piece unknown, as in BERT.
      if (found === undefined) return [this.unkId];
      ids.push(found);
      start = end;
    }
    return ids;
  }
}
