/**
 * Entry script of `ner-launch test` on each worker: the process-group check, or with
 * `--benchmark` the all-reduce benchmark (its report written by rank 0 to `--report FILE` as
 * JSON, or printed as a table). Kept apart from self-test.ts so that bundling the CLI (where
 * every module shares one URL) never runs the check by accident.
 */
import { Accelerator } from './accelerator.js';
import {
  formatBenchmarkTable,
  parseBenchmarkOptions,
  runAllReduceBenchmark,
} from './allreduce-benchmark.js';
import { errorReport, writeFileAtomic } from '@ner-launch/common';
import { runSelfTestWorker } from './self-test.js';

async function runBenchmarkWorker(args: string[]): Promise<void> {
  const options = parseBenchmarkOptions(args);
  const acc = await Accelerator.create();
  try {
    const report = await runAllReduceBenchmark(acc, options);
    const i = args.indexOf('--report');
    if (!acc.isMainProcess) return;
    if (i >= 0) await writeFileAtomic(args[i + 1], `${JSON.stringify(report, null, 2)}\n`);
    else acc.print(formatBenchmarkTable(report));
  } finally {
    await acc.end();
  }
}

const args = process.argv.slice(2);
(args.includes('--benchmark') ? runBenchmarkWorker(args) : runSelfTestWorker()).catch(
  (error: unknown) => {
    // As ner-launch's own handler: one line for a process-group failure, a stack for a bug.
    const report = errorReport(error, 'ner-launch test');
    process.stderr.write(report.text);
    process.exitCode = report.exitCode;
  },
);
