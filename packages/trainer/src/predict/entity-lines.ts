/**
 * Predicted tags of a plain-text sentence → the JSON line `predict` prints for it: the text,
 * its words and tags, and the entities (seqeval's default chunking, as scoring uses) with word
 * indices [start, end) and their text cut from the original line.
 */
import { extractEntities } from '../metrics/entity-spans.js';
import { wordSpanText, type TextWords } from './text-words.js';

/** One entity of a predicted sentence. */
export interface PredictedEntity {
  type: string;
  /** Index of the first word. */
  start: number;
  /** Index after the last word (exclusive, as a slice). */
  end: number;
  text: string;
}

/** One output record of text prediction. */
export interface PredictedText {
  text: string;
  tokens: string[];
  tags: string[];
  entities: PredictedEntity[];
}

/** The record of one line, given its split and its predicted tags. */
export function predictedText(
  line: string,
  split: TextWords,
  tags: readonly string[],
): PredictedText {
  const entities = extractEntities([[...tags]], 'default')
    .filter((span) => span.start >= 0)
    .map((span) => ({
      type: span.type,
      start: span.start,
      end: span.end,
      text: wordSpanText(line, split, span.start, span.end),
    }));
  return { text: line, tokens: split.words, tags: [...tags], entities };
}
