import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatConllSentence } from '../../src/data/conll-writer.js';

test('writes token TAB tag lines followed by a blank line', () => {
  const source = { file: 'x.csv', line: 2, record: 1 };
  assert.equal(
    formatConllSentence({ tokens: ['New York', '.'], tags: ['B-LOC', 'O'], source }),
    'New York\tB-LOC\n.\tO\n\n',
  );
});

test('refuses a token holding a tab or line break, naming where the sentence came from', () => {
  const source = { file: 'x.csv', line: 5, record: 4 };
  assert.throws(
    () => formatConllSentence({ tokens: ['a\tb'], tags: ['O'], source }),
    /x\.csv:5: record 4: token 1 "a\\tb" holds a tab or line break/,
  );
});
