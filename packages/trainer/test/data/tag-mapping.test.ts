import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  mapSentenceTags,
  mapTag,
  readTagMapping,
  type MappingCounts,
} from '../../src/data/tag-mapping.js';

const dir = mkdtempSync(join(tmpdir(), 'mapping-'));

function mappingFile(content: string): string {
  const path = join(dir, `m${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(path, content);
  return path;
}

test('maps by full tag first, then by type; unmapped tags become O and are counted', async () => {
  const mapping = await readTagMapping(
    mappingFile('{"PER": "PERSON", "B-LOC": "B-GPE", "DATE": "O"}'),
  );
  assert.equal(mapTag('B-PER', mapping), 'B-PERSON');
  assert.equal(mapTag('I-PER', mapping), 'I-PERSON');
  assert.equal(mapTag('B-LOC', mapping), 'B-GPE');
  assert.equal(mapTag('I-LOC', mapping), 'O');
  assert.equal(mapTag('B-DATE', mapping), 'O');
  const counts: MappingCounts = { mapped: 0, replaced: 0 };
  const out = mapSentenceTags(
    {
      tokens: ['a', 'b', 'c', 'd', 'e'],
      tags: ['B-PER', 'O', 'B-ORG', 'I-ORG', 'B-DATE'],
      source: { file: 'f', line: 1 },
    },
    mapping,
    counts,
  );
  assert.deepEqual(out.tags, ['B-PERSON', 'O', 'O', 'O', 'O']);
  assert.deepEqual(counts, { mapped: 2, replaced: 2 });
});

test('a bad mapping file is rejected naming the file and the key', async () => {
  await assert.rejects(readTagMapping(mappingFile('[1]')), /must be a JSON object/);
  await assert.rejects(
    readTagMapping(mappingFile('{"PER": 3}')),
    /mapping for "PER" must be a non-empty string/,
  );
  await assert.rejects(
    readTagMapping(mappingFile('{"B-PER": "PERSON"}')),
    /"B-PER" is a tag, so its value must be O, B-X or I-X/,
  );
  await assert.rejects(readTagMapping(mappingFile('{')), /m\w+\.json: cannot read the tag mapping/);
});
