/**
 * The label list a model is trained on: from the training data (`O` first, then sorted, as
 * the reference trainer builds it) unless the user gives one. Every tag in any split must be
 * in it; an unknown tag is an error naming the tag, file and record.
 */
import { UsageError } from '@ner-launch/common';
import { DataError } from './data-error.js';
import { orderLabels } from './dataset-summary.js';
import { isIobTag } from './iob.js';
import type { Sentence } from './sentence.js';

/** Labels from the sentences' tags: `O` first, then the rest sorted by code point. */
export function labelsFromSentences(sentences: Iterable<Pick<Sentence, 'tags'>>): string[] {
  const seen = new Set<string>(['O']);
  for (const s of sentences) for (const tag of s.tags) seen.add(tag);
  return orderLabels(seen);
}

/** Checks a user-given label list (e.g. `--labels`): IOB tags, no duplicates, `O` included. */
export function checkLabelList(labels: readonly string[], origin = '--labels'): void {
  const bad = labels.filter((l) => !isIobTag(l));
  if (bad.length > 0) throw new UsageError(`${origin}: not IOB tags: ${bad.join(', ')}`);
  if (new Set(labels).size !== labels.length)
    throw new UsageError(`${origin}: contains a label twice`);
  if (!labels.includes('O')) throw new UsageError(`${origin}: must include O`);
}

/** DataErrors for every tag in `sentences` that is not in `labels` (one per sentence and tag). */
export function unknownTagErrors(
  sentences: Iterable<Sentence>,
  labels: readonly string[],
  labelOrigin: string,
): DataError[] {
  const known = new Set(labels);
  const errors: DataError[] = [];
  for (const s of sentences) {
    const reported = new Set<string>();
    s.tags.forEach((tag, i) => {
      if (known.has(tag) || reported.has(tag)) return;
      reported.add(tag);
      errors.push(
        new DataError(
          s.source.file,
          s.source.line,
          `tag ${JSON.stringify(tag)} (word ${i + 1}) is not in the label set (${labelOrigin})`,
          s.source.record,
        ),
      );
    });
  }
  return errors;
}
