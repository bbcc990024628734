import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { makeDirectories, makeDirectoriesSync } from '../src/make-directories.js';

const root = mkdtempSync(join(tmpdir(), 'ner-mkdir-'));
after(() => rmSync(root, { recursive: true, force: true }));
const linux = process.platform === 'linux';

test('creates every missing level, and an existing folder is fine, in both forms', async () => {
  await makeDirectories(join(root, 'a', 'b', 'c'));
  await makeDirectories(join(root, 'a', 'b', 'c'));
  makeDirectoriesSync(join(root, 's', 't'));
  makeDirectoriesSync(join(root, 's', 't'));
  assert.ok(statSync(join(root, 'a', 'b', 'c')).isDirectory());
  assert.ok(statSync(join(root, 's', 't')).isDirectory());
});

test('a file in the way fails with its error', async () => {
  const file = join(root, 'file');
  writeFileSync(file, '');
  await assert.rejects(makeDirectories(join(file, 'sub')), { code: 'ENOTDIR' });
  assert.throws(() => makeDirectoriesSync(join(file, 'sub')), { code: 'ENOTDIR' });
});

// Node's recursive mkdir never returns there; run in a child so a hang fails this test
// (a synchronous hang would stop the test runner itself).
test(
  'a folder that cannot be made under /proc fails at once instead of hanging',
  { skip: !linux },
  () => {
    const module = fileURLToPath(new URL('../src/make-directories.ts', import.meta.url));
    const script =
      `import { makeDirectories, makeDirectoriesSync } from ${JSON.stringify(module)};\n` +
      `try { makeDirectoriesSync('/proc/ner-launch-nope/a'); } catch (e) { console.log('sync', e.code); }\n` +
      `await makeDirectories('/proc/ner-launch-nope/a').catch((e) => console.log('async', e.code));\n`;
    const result = spawnSync(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script],
      { encoding: 'utf8', timeout: 20_000 },
    );
    assert.equal(result.signal, null, 'the child hung and was killed');
    assert.equal(result.stdout, 'sync ENOENT\nasync ENOENT\n', result.stderr);
  },
);
