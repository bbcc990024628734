// Runs every *.test.ts under packages/*/test and test/ with Node's test runner (through tsx).
// Extra arguments are passed on, e.g. `npm test -- --test-name-pattern tokenizer` or file paths.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));

function findTests(dir) {
  const found = [];
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'fixtures') continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) found.push(...findTests(path));
    else if (name.endsWith('.test.ts')) found.push(relative(root, path));
  }
  return found;
}

const args = process.argv.slice(2);
const explicitFiles = args.filter((a) => a.endsWith('.ts'));
const flags = args.filter((a) => !a.endsWith('.ts'));
const files =
  explicitFiles.length > 0
    ? explicitFiles
    : [
        ...readdirSync(join(root, 'packages')).flatMap((p) => {
          const testDir = join(root, 'packages', p, 'test');
          try {
            return findTests(testDir);
          } catch {
            return [];
          }
        }),
        ...findTests(join(root, 'test')),
      ].sort();

const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-reporter=spec', ...flags, ...files],
  { cwd: root, stdio: 'inherit' },
);
process.exit(result.status ?? 1);
