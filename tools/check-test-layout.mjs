// Package tests mirror their sources (`npm run lint` runs this):
// packages/<pkg>/test/<dir>/<name>.test.ts tests packages/<pkg>/src/<dir>/<name>.ts (or the
// folder src/<dir>/<name>/), and <name>.<aspect>.test.ts one aspect of it (a parity check,
// faults, ...). Helpers live in test/support/, files the tests load in test/fixtures/. Anything
// else fails, one line per file.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));

/** Tests with no module of their own to sit beside, and why. */
const ALLOWED = {
  'packages/trainer/test/train/quickstart.test.ts':
    'the bundled quickstart: configs/quickstart.yaml, examples/',
};
/** Folders directly under a package's test/ that hold no tests of their own. */
const NOT_MIRRORED = new Set(['support', 'fixtures']);

/** Files under `dir`, recursively, leaving out `skip`'s folders at its top. */
function files(dir, skip = new Set()) {
  return readdirSync(dir)
    .filter((name) => !skip.has(name))
    .flatMap((name) => {
      const path = join(dir, name);
      return statSync(path).isDirectory() ? files(path) : [path];
    });
}

const problems = [];
for (const pkg of readdirSync(join(root, 'packages'))) {
  const testDir = join(root, 'packages', pkg, 'test');
  if (!existsSync(testDir)) continue;
  for (const file of files(testDir, NOT_MIRRORED)) {
    const shown = relative(root, file);
    if (basename(file) === 'README.md') continue;
    if (!file.endsWith('.test.ts')) {
      problems.push(
        `${shown}: not a test; helpers go in test/support/, loaded files in test/fixtures/`,
      );
      continue;
    }
    if (shown in ALLOWED) continue;
    const name = basename(file, '.test.ts').split('.')[0];
    const module = join(relative(testDir, dirname(file)), name);
    const source = join(root, 'packages', pkg, 'src', module);
    if (existsSync(`${source}.ts`) || existsSync(source)) continue;
    problems.push(
      `${shown}: no module packages/${pkg}/src/${module}.ts to test (name a test after its module, at the same path under test/, or add it to ALLOWED in tools/check-test-layout.mjs)`,
    );
  }
}
for (const line of problems) process.stderr.write(`${line}\n`);
process.exit(problems.length > 0 ? 1 : 0);
