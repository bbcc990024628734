/**
 * The BERT tokenizer for pre-split words, matching HF `BertTokenizerFast` called with
 * `is_split_into_words=True`: each word is encoded on its own (added/special tokens matched in
 * the raw word first, then normalizer, pre-tokenizer, WordPiece), then `[CLS] ... [SEP]`.
 */
import { OperationalError } from '@ner-launch/common';
import { BasicTokenizer } from './basic-tokenizer.js';
import { loadTokenizerFiles, SPECIAL_TOKEN_ROLES, type TokenizerFiles } from './tokenizer-files.js';
import { DEFAULT_WORDPIECE_OPTIONS, WordPiece } from './wordpiece.js';

/** One encoded sentence. */
export interface EncodedWords {
  /** Token ids, `[CLS]` first and `[SEP]` last. */
  inputIds: number[];
  /** Index of the word each token came from; null for `[CLS]`/`[SEP]`. */
  wordIds: (number | null)[];
  /** Whether tokens were cut off to fit `maxLength`. */
  truncated: boolean;
}

/** Options of `encodeWords`. */
export interface EncodeOptions {
  /** Total length limit including `[CLS]` and `[SEP]` (HF `truncation=True, max_length`). */
  maxLength?: number;
}

/** A loaded BERT WordPiece tokenizer. */
export class BertTokenizer {
  readonly vocab: ReadonlyMap<string, number>;
  readonly basic: BasicTokenizer;
  readonly wordPiece: WordPiece;
  readonly clsId: number;
  readonly sepId: number;
  readonly padId: number;
  readonly unkId: number;
  /** Strings matched verbatim inside words before normalization (specials + added tokens). */
  private readonly atomic: Map<string, number>;
  private readonly atomicFirstChars: Set<string>;
  private readonly cache = new Map<string, number[]>();

  constructor(
    readonly files: TokenizerFiles,
    source = 'tokenizer',
  ) {
    const vocab = new Map<string, number>();
    // Later duplicates win, like HF's load_vocab.
    files.vocabLines.forEach((token, id) => vocab.set(token, id));
    this.vocab = vocab;
    this.basic = new BasicTokenizer({
      doLowerCase: files.doLowerCase,
      stripAccents: files.stripAccents,
      tokenizeChineseChars: files.tokenizeChineseChars,
    });
    this.wordPiece = new WordPiece(vocab, {
      ...DEFAULT_WORDPIECE_OPTIONS,
      unkToken: files.specialTokens.unk_token,
    });
    this.atomic = new Map(files.addedTokens);
    for (const role of SPECIAL_TOKEN_ROLES) {
      const token = files.specialTokens[role];
      const id = vocab.get(token) ?? files.addedTokens.get(token);
      if (id === undefined)
        throw new OperationalError(`${source}: ${role} ${token} is not in vocab.txt`);
      this.atomic.set(token, id);
    }
    this.atomicFirstChars = new Set([...this.atomic.keys()].map((t) => t[0]));
    const id = (role: (typeof SPECIAL_TOKEN_ROLES)[number]) =>
      this.atomic.get(this.files.specialTokens[role]) as number;
    this.clsId = id('cls_token');
    this.sepId = id('sep_token');
    this.padId = id('pad_token');
    this.unkId = id('unk_token');
  }

  /** Loads vocab.txt (+ tokenizer_config.json, special_tokens_map.json) from a model directory. */
  static fromDirectory(dir: string): BertTokenizer {
    return new BertTokenizer(loadTokenizerFiles(dir), dir);
  }

  /** Number of ids (vocab lines, plus added tokens beyond them). */
  get vocabSize(): number {
    let size = this.files.vocabLines.length;
    for (const id of this.files.addedTokens.values()) size = Math.max(size, id + 1);
    return size;
  }

  /** Token strings of ids (for display and debugging). */
  idsToTokens(ids: readonly number[]): string[] {
    const added = new Map([...this.atomic].map(([t, i]) => [i, t]));
    return ids.map((i) => added.get(i) ?? this.files.vocabLines[i] ?? `<${i}>`);
  }

  /** Ids of one word (empty when nothing survives cleaning, e.g. a zero-width space). */
  encodeWord(word: string): number[] {
    let ids = this.cache.get(word);
    if (ids === undefined) {
      ids = [];
      for (const part of this.splitAtomic(word)) {
        if (typeof part === 'number') ids.push(part);
        else
          for (const piece of this.basic.tokenize(part))
            ids.push(...this.wordPiece.tokenize(piece));
      }
      if (this.cache.size < 1_000_000) this.cache.set(word, ids);
    }
    return ids;
  }

  /** Encodes pre-split words: `[CLS]`, each word's pieces, `[SEP]`, truncated to maxLength. */
  encodeWords(words: readonly string[], options: EncodeOptions = {}): EncodedWords {
    const inputIds = [this.clsId];
    const wordIds: (number | null)[] = [null];
    words.forEach((word, index) => {
      for (const id of this.encodeWord(word)) {
        inputIds.push(id);
        wordIds.push(index);
      }
    });
    let truncated = false;
    const { maxLength } = options;
    if (maxLength !== undefined) {
      if (!Number.isInteger(maxLength) || maxLength < 2)
        throw new Error(
          `max length must be an integer >= 2 (room for [CLS] and [SEP]), got ${maxLength}`,
        );
      if (inputIds.length + 1 > maxLength) {
        truncated = true;
        inputIds.length = maxLength - 1;
        wordIds.length = maxLength - 1;
      }
    }
    inputIds.push(this.sepId);
    wordIds.push(null);
    return { inputIds, wordIds, truncated };
  }

  /**
   * Splits a raw word around special/added tokens (leftmost-longest match, case-sensitive, as
   * the Rust AddedVocabulary does for tokens with normalized=false); numbers are matched ids.
   */
  private splitAtomic(word: string): (string | number)[] {
    const parts: (string | number)[] = [];
    let rest = 0;
    for (let i = 0; i < word.length; i++) {
      if (!this.atomicFirstChars.has(word[i])) continue;
      let best: string | undefined;
      for (const token of this.atomic.keys())
        if (word.startsWith(token, i) && (best === undefined || token.length > best.length))
          best = token;
      if (best === undefined) continue;
      if (i > rest) parts.push(word.slice(rest, i));
      parts.push(this.atomic.get(best) as number);
      rest = i + best.length;
      i = rest - 1;
    }
    if (rest < word.length) parts.push(word.slice(rest));
    return parts;
  }
}
