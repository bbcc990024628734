import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

test('the checked-in proto types and descriptor match proto/process_group.proto', () => {
  const run = spawnSync(
    process.execPath,
    ['--import', 'tsx', 'tools/generate-proto.ts', '--check'],
    { cwd: root, encoding: 'utf8' },
  );
  assert.equal(run.status, 0, `${run.stdout}${run.stderr}`);
  assert.match(run.stdout, /proto types are current/);
});
