/**
 * Labelled sentences → model inputs: token ids, word ids and aligned training labels, with a
 * running count of what tokenization changed (truncated sentences, words left without tokens),
 * so callers can report it instead of losing words silently.
 */
import { UsageError } from '@ner-launch/common';
import type { Sentence } from '../data/sentence.js';
import type { BertTokenizer } from './bert-tokenizer.js';
import { alignLabels } from './label-alignment.js';

/** One encoded training/evaluation example. */
export interface EncodedSentence {
  inputIds: number[];
  wordIds: (number | null)[];
  /** Label id per token; -100 where the loss ignores it. */
  labels: number[];
  /** Whether tokens were cut off at maxLength. */
  truncated: boolean;
}

/** Options of SentenceEncoder. */
export interface SentenceEncoderOptions {
  /** Length limit including [CLS] and [SEP]; undefined = no truncation. */
  maxLength?: number;
  /** Label later sub-tokens (B-X → I-X) instead of -100. */
  labelAllSubtokens: boolean;
}

/** What tokenization did to a set of sentences. */
export interface EncodeSummary {
  sentences: number;
  words: number;
  tokens: number;
  /** Sentences cut to maxLength. */
  truncatedSentences: number;
  /** Words lost to truncation (no token left). */
  truncatedWords: number;
  /** Words that produced no token at all (only control/zero-width characters). */
  emptyWords: number;
}

/** Encodes sentences with a fixed tokenizer and label list, keeping an EncodeSummary. */
export class SentenceEncoder {
  readonly summary: EncodeSummary = {
    sentences: 0,
    words: 0,
    tokens: 0,
    truncatedSentences: 0,
    truncatedWords: 0,
    emptyWords: 0,
  };

  constructor(
    readonly tokenizer: BertTokenizer,
    readonly labelList: readonly string[],
    readonly options: SentenceEncoderOptions,
  ) {}

  /** Encodes one sentence; a tag outside the label list is an error naming file and line. */
  encode(sentence: Sentence): EncodedSentence {
    const where = `${sentence.source.file}:${sentence.source.line}`;
    if (sentence.tags.length !== sentence.tokens.length)
      throw new UsageError(
        `${where}: ${sentence.tokens.length} tokens but ${sentence.tags.length} tags`,
      );
    const encoded = this.tokenizer.encodeWords(
      sentence.tokens,
      this.options.maxLength === undefined ? {} : { maxLength: this.options.maxLength },
    );
    let labels: number[];
    try {
      labels = alignLabels(encoded.wordIds, sentence.tags, this.labelList, this.options);
    } catch (error) {
      throw new UsageError(`${where}: ${(error as Error).message}`, { cause: error });
    }
    const s = this.summary;
    s.sentences++;
    s.words += sentence.tokens.length;
    s.tokens += encoded.inputIds.length;
    const covered = new Set(encoded.wordIds.filter((w): w is number => w !== null));
    if (encoded.truncated) s.truncatedSentences++;
    const lastKept = Math.max(-1, ...covered);
    sentence.tokens.forEach((word, i) => {
      if (covered.has(i)) return;
      if (i > lastKept && encoded.truncated) s.truncatedWords++;
      else if (this.tokenizer.encodeWord(word).length === 0) s.emptyWords++;
    });
    return { ...encoded, labels };
  }

  /** One-line human summary (always names the truncation count). */
  describe(): string {
    const s = this.summary;
    const limit =
      this.options.maxLength === undefined ? 'no limit' : `max_len ${this.options.maxLength}`;
    return (
      `${s.sentences} sentences, ${s.words} words, ${s.tokens} tokens; ` +
      `${s.truncatedSentences} sentences truncated (${limit}, ${s.truncatedWords} words cut off); ` +
      `${s.emptyWords} words gave no token`
    );
  }
}
