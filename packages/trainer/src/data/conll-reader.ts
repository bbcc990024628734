/**
 * Reads CoNLL-style files: one word per line, blank line between sentences, `-DOCSTART-`
 * lines (document breaks) skipped. Columns are split on tabs when the line has one (so a
 * token may contain spaces), else on runs of spaces. As in CoNLL-2003 and conlleval, the
 * token is the first column and the NER tag the *last*; columns between (POS, chunk) are
 * ignored. Streams line by line.
 */
import { DataError } from './data-error.js';
import type { ReadOptions } from './csv-reader.js';
import { sentenceProblem } from './sentence-check.js';
import type { Sentence } from './sentence.js';
import { readLines } from './utf8-text.js';

/** Yields the sentences of a CoNLL/TSV file. */
export async function* readConllSentences(
  file: string,
  options: ReadOptions = {},
): AsyncGenerator<Sentence> {
  let tokens: string[] = [];
  let tags: string[] = [];
  let startLine = 0;
  let problem: DataError | undefined;
  let lineNo = 0;
  let sawAnyLine = false;
  const report = (error: DataError): void => {
    if (!options.onError) throw error;
    options.onError(error);
  };
  function* flush(): Generator<Sentence> {
    if (tokens.length === 0 && !problem) return;
    if (problem) report(problem);
    else {
      const issue = sentenceProblem(tokens, tags);
      if (issue) report(new DataError(file, startLine, issue));
      else yield { tokens, tags, source: { file, line: startLine } };
    }
    tokens = [];
    tags = [];
    problem = undefined;
  }
  for await (const raw of readLines(file)) {
    lineNo++;
    sawAnyLine = true;
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.trim() === '') {
      yield* flush();
      continue;
    }
    const columns = line.includes('\t') ? line.split('\t') : line.trim().split(/ +/);
    if (columns[0] === '-DOCSTART-') {
      yield* flush();
      continue;
    }
    if (tokens.length === 0 && !problem) startLine = lineNo;
    if (problem) continue; // one error per sentence; the rest of it is skipped
    if (columns.length < 2) {
      problem = new DataError(
        file,
        lineNo,
        `expected a token and a tag, found one column ${JSON.stringify(line)}`,
      );
      continue;
    }
    const token = columns[0] ?? '';
    const tag = (columns[columns.length - 1] ?? '').trim();
    const issue = sentenceProblem([token], [tag]);
    if (issue) {
      problem = new DataError(file, lineNo, issue.replace(/^(token|tag) 1 /, '$1 '));
      continue;
    }
    tokens.push(token);
    tags.push(tag);
  }
  yield* flush();
  if (!sawAnyLine) throw new DataError(file, 0, 'empty file');
}
