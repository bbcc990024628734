/**
 * Tag mapping for `data filter`: a JSON object whose keys are full tags (`B-PER`) or entity
 * types (`PER`) and whose values are tags or types (`O` drops the entity). A full-tag key
 * wins over a type key. Tags the mapping does not mention become `O` and are counted.
 */
import { UsageError } from '@ner-launch/common';
import { readFile } from 'node:fs/promises';
import { isIobTag } from './iob.js';
import type { Sentence } from './sentence.js';

/** A validated mapping. */
export type TagMapping = ReadonlyMap<string, string>;

/** Counts of what mapping changed. */
export interface MappingCounts {
  /** Tags rewritten by the mapping to something else. */
  mapped: number;
  /** Non-O tags the mapping does not mention, replaced by O. */
  replaced: number;
}

/** Reads and checks a mapping file; errors name the file and the offending key. */
export async function readTagMapping(file: string): Promise<TagMapping> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new UsageError(`${file}: cannot read the tag mapping: ${(error as Error).message}`, {
      cause: error,
    });
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    throw new UsageError(`${file}: the tag mapping must be a JSON object {"FROM": "TO", ...}`);
  const mapping = new Map<string, string>();
  for (const [key, value] of Object.entries(json)) {
    if (typeof value !== 'string' || value === '')
      throw new UsageError(
        `${file}: mapping for ${JSON.stringify(key)} must be a non-empty string`,
      );
    if (key === '' || key === 'O')
      throw new UsageError(`${file}: cannot map ${JSON.stringify(key)}`);
    const keyIsTag = isIobTag(key);
    const valueIsTag = isIobTag(value);
    if (keyIsTag && !valueIsTag)
      throw new UsageError(
        `${file}: ${JSON.stringify(key)} is a tag, so its value must be O, B-X or I-X (got ${JSON.stringify(value)})`,
      );
    if (!keyIsTag && valueIsTag && value !== 'O')
      throw new UsageError(
        `${file}: ${JSON.stringify(key)} is a type, so its value must be a type or O (got ${JSON.stringify(value)})`,
      );
    if (/^[BI]-$|\s/.test(value))
      throw new UsageError(`${file}: bad value ${JSON.stringify(value)}`);
    mapping.set(key, value);
  }
  return mapping;
}

/** Maps one tag; returns the new tag. */
export function mapTag(tag: string, mapping: TagMapping): string {
  if (tag === 'O') return 'O';
  const full = mapping.get(tag);
  if (full !== undefined) return full;
  const byType = mapping.get(tag.slice(2));
  if (byType === undefined) return 'O';
  return byType === 'O' ? 'O' : `${tag.slice(0, 2)}${byType}`;
}

/** Applies the mapping to a sentence (a new object), adding to `counts`. */
export function mapSentenceTags(
  sentence: Sentence,
  mapping: TagMapping,
  counts: MappingCounts,
): Sentence {
  const tags = sentence.tags.map((tag) => {
    if (tag === 'O') return tag;
    const mapped = mapTag(tag, mapping);
    const known = mapping.has(tag) || mapping.has(tag.slice(2));
    if (!known) counts.replaced++;
    else if (mapped !== tag) counts.mapped++;
    return mapped;
  });
  return { ...sentence, tags };
}
