/**
 * `npm run bench`: runs the benchmarks one after another, each in its own process (they are
 * CPU-heavy; never in tests), each writing bench/results/<name>.json with machine info.
 *   npm run bench                      # all
 *   npm run bench -- model-throughput  # some, by name; extra --flags go to each
 */
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/** Benchmark files by name (bench/<name>.ts). */
const BENCHES = [
  'model-throughput',
  'bert-base-seq-length',
  'allreduce',
  'launcher-startup',
  'training-scaling',
  'batch-matmul',
  'length-groups',
  'engine-step',
] as const;

const args = process.argv.slice(2);
// Names are the arguments that are neither a --flag nor a flag's value.
const names = args.filter((a, i) => !a.startsWith('--') && !(args[i - 1] ?? '').startsWith('--'));
const unknown = names.filter((a) => !(BENCHES as readonly string[]).includes(a));
if (unknown.length > 0) {
  process.stderr.write(
    `unknown benchmark(s) ${unknown.join(', ')}; known: ${BENCHES.join(', ')}\n`,
  );
  process.exit(2);
}
const named = names;
const flags = args.filter((a) => !named.includes(a));
let failed = 0;
for (const name of named.length > 0 ? named : BENCHES) {
  process.stderr.write(`== bench ${name}\n`);
  const result = spawnSync(
    process.execPath,
    ['--import', 'tsx', join(here, `${name}.ts`), ...flags],
    {
      stdio: 'inherit',
    },
  );
  if (result.status !== 0) {
    failed++;
    process.stderr.write(`bench ${name} failed (exit ${result.status})\n`);
  }
}
process.exit(failed > 0 ? 1 : 0);
