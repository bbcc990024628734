import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { withAtomicFile, writeDirectoryAtomic, writeFileAtomic } from '../src/atomic-write.js';

const root = mkdtempSync(join(tmpdir(), 'ner-atomic-'));
after(() => rmSync(root, { recursive: true, force: true }));

test('writeFileAtomic replaces a file, creating its folder, and leaves no temporary sibling', async () => {
  const path = join(root, 'nested', 'out.txt');
  await writeFileAtomic(path, 'first');
  await writeFileAtomic(path, 'second');
  assert.equal(readFileSync(path, 'utf8'), 'second');
  assert.deepEqual(readdirSync(join(root, 'nested')), ['out.txt']);
});

test('a failing withAtomicFile keeps the previous file and removes its temporary file', async () => {
  const dir = mkdtempSync(join(root, 'fail-'));
  const path = join(dir, 'metrics.json');
  writeFileSync(path, 'old');
  await assert.rejects(
    withAtomicFile(path, async (tmp) => {
      await writeFile(tmp, 'half');
      throw new Error('disk full');
    }),
    /disk full/,
  );
  assert.equal(readFileSync(path, 'utf8'), 'old');
  assert.deepEqual(readdirSync(dir), ['metrics.json']);
});

test('writeDirectoryAtomic swaps a whole folder, and a failing fill leaves the old one as it was', async () => {
  const dir = join(root, 'checkpoint');
  await writeDirectoryAtomic(dir, (tmp) => writeFile(join(tmp, 'a.txt'), '1'));
  await writeDirectoryAtomic(dir, (tmp) => writeFile(join(tmp, 'b.txt'), '2'));
  assert.deepEqual(readdirSync(dir), ['b.txt']);
  await assert.rejects(
    writeDirectoryAtomic(dir, async (tmp) => {
      await writeFile(join(tmp, 'c.txt'), '3');
      throw new Error('interrupted');
    }),
    /interrupted/,
  );
  assert.deepEqual(readdirSync(dir), ['b.txt']);
  assert.deepEqual(
    readdirSync(root).filter((name) => name.startsWith('.')),
    [],
    'no temporary folder is left beside it',
  );
});
