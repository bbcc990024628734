/**
 * Entity (chunk) extraction from tag sequences, exactly as seqeval 1.2.2 does it.
 *
 * Two modes, as seqeval offers them:
 * - `default`: seqeval's conlleval-compatible `get_entities` (what `evaluate`'s seqeval wrapper
 *   and the reference trainer use). It never rejects a tag: the first character is the chunk
 *   prefix (`B I E S O`, anything else is handled by the same state machine), the type is what
 *   follows the first `-`, and I- after O (or a type change) opens a new chunk.
 * - `strict`: seqeval's `mode='strict', scheme=IOB2` (`seqeval.scheme.Tokens`): an entity is a
 *   B-X followed by the longest run of I-X; a lone I-X is no entity; prefixes other than
 *   B/I/O are an error.
 */

/** Which of seqeval's chunkers scores a sequence. */
export type ScoringMode = 'default' | 'strict';

/** The scoring modes, for CLI choices. */
export const SCORING_MODES: readonly ScoringMode[] = ['default', 'strict'];

/** One entity: its type and where it sits (sentence index, token start, exclusive end). */
export interface EntitySpan {
  type: string;
  sentence: number;
  start: number;
  end: number;
}

/** A tag the strict IOB2 chunker cannot read (seqeval raises KeyError/ValueError there). */
export class InvalidTagError extends Error {
  constructor(
    readonly tag: string,
    readonly sentence: number,
    readonly position: number,
    /** What is wrong with it, without the location. */
    readonly reason: string,
  ) {
    super(`tag ${JSON.stringify(tag)} (sentence ${sentence + 1}, token ${position + 1}) ${reason}`);
    this.name = 'InvalidTagError';
  }
}

/** First code point and the rest, as Python's `s[0]` / `s[1:]` split a str. */
function splitFirst(tag: string, sentence: number, position: number): [string, string] {
  const first = tag.codePointAt(0);
  if (first === undefined)
    throw new InvalidTagError(tag, sentence, position, 'is empty; every token needs a tag');
  const head = String.fromCodePoint(first);
  return [head, tag.slice(head.length)];
}

/** Entities of `sentences` in the given mode; see the file comment for the rules. */
export function extractEntities(sentences: string[][], mode: ScoringMode): EntitySpan[] {
  return mode === 'strict' ? strictIob2Entities(sentences) : conllevalEntities(sentences);
}

/**
 * seqeval's `get_entities` (default mode). seqeval flattens the sentences into one sequence with
 * an `O` after each sentence, so the state machine runs over that; the begin offset is global
 * state (with odd prefixes such as `.X` a chunk can end without having started in the same
 * sentence — seqeval then reports the stale begin, and so do we). Spans are mapped back to
 * (sentence, start, end) afterwards; `start` can then be negative, which keeps identity intact.
 */
function conllevalEntities(sentences: string[][]): EntitySpan[] {
  // Global position of each sentence's first token in the flattened sequence.
  const offsets: number[] = [];
  const flat: { tag: string; sentence: number; position: number }[] = [];
  sentences.forEach((tags, s) => {
    offsets.push(flat.length);
    tags.forEach((tag, position) => flat.push({ tag, sentence: s, position }));
    flat.push({ tag: 'O', sentence: s, position: tags.length });
  });
  // seqeval appends one more O so the last chunk closes.
  flat.push({ tag: 'O', sentence: sentences.length, position: 0 });

  const spans: EntitySpan[] = [];
  let prevPrefix = 'O';
  let prevType = '';
  let begin = 0;
  flat.forEach(({ tag, sentence, position }, i) => {
    const [prefix, rest] = splitFirst(tag, sentence, position);
    const dash = rest.indexOf('-');
    const type = (dash >= 0 ? rest.slice(dash + 1) : rest) || '_';
    if (chunkEnds(prevPrefix, prefix, prevType, type)) {
      const endGlobal = i - 1;
      // The last token of a chunk is never a separator, so it names the sentence.
      const s = flat[endGlobal].sentence;
      const base = offsets[s];
      spans.push({ type: prevType, sentence: s, start: begin - base, end: endGlobal - base + 1 });
    }
    if (chunkStarts(prevPrefix, prefix, prevType, type)) begin = i;
    prevPrefix = prefix;
    prevType = type;
  });
  return spans;
}

/** seqeval's `end_of_chunk`: did a chunk end just before the current token? */
function chunkEnds(prev: string, cur: string, prevType: string, type: string): boolean {
  if (prev === 'E' || prev === 'S') return true;
  if ((prev === 'B' || prev === 'I') && (cur === 'B' || cur === 'S' || cur === 'O')) return true;
  return prev !== 'O' && prev !== '.' && prevType !== type;
}

/** seqeval's `start_of_chunk`: does a chunk start at the current token? */
function chunkStarts(prev: string, cur: string, prevType: string, type: string): boolean {
  if (cur === 'B' || cur === 'S') return true;
  if ((prev === 'E' || prev === 'S' || prev === 'O') && (cur === 'E' || cur === 'I')) return true;
  return cur !== 'O' && cur !== '.' && prevType !== type;
}

/** Prefix letters `seqeval.scheme.Prefix` knows; any other first character is a KeyError there. */
const KNOWN_PREFIXES = new Set(['I', 'O', 'B', 'E', 'S', 'U', 'L']);

/**
 * seqeval's strict IOB2 chunker (`Tokens(seq, IOB2).entities`). The type is the text after the
 * prefix with `-` stripped from both ends (`B--X-` is type `X`), `_` when nothing is left.
 */
function strictIob2Entities(sentences: string[][]): EntitySpan[] {
  const spans: EntitySpan[] = [];
  sentences.forEach((tags, s) => {
    const parsed = tags.map((tag, position) => {
      const [prefix, rest] = splitFirst(tag, s, position);
      if (!KNOWN_PREFIXES.has(prefix))
        throw new InvalidTagError(tag, s, position, 'has no IOB prefix (B-, I- or O)');
      return { prefix, type: rest.replace(/^-+|-+$/g, '') || '_' };
    });
    parsed.forEach(({ prefix }, position) => {
      if (prefix !== 'B' && prefix !== 'I' && prefix !== 'O')
        throw new InvalidTagError(
          tags[position],
          s,
          position,
          'is not valid in strict IOB2 mode (allowed prefixes: B-, I-, O)',
        );
    });
    let i = 0;
    while (i < parsed.length) {
      if (parsed[i].prefix !== 'B') {
        i += 1;
        continue;
      }
      const type = parsed[i].type;
      let end = i + 1;
      while (end < parsed.length && parsed[end].prefix === 'I' && parsed[end].type === type)
        end += 1;
      spans.push({ type, sentence: s, start: i, end });
      i = end;
    }
  });
  return spans;
}
