/**
 * `ner-launch test [launch flags]`: launches the process-group check script (rendezvous,
 * collectives, sharding) with the same machinery as a real launch; ends with a success line.
 * `--benchmark [--sizes_mb 4,64,440] [--dtype fp32,fp16,bf16] [--buffers registered|plain] [--json]` instead measures the
 * all-reduce on that set-up (nccl-tests' all_reduce_perf figures beside the raw transport).
 */
import {
  formatBenchmarkTable,
  parseBenchmarkOptions,
  type BenchmarkReport,
} from '@ner-launch/worker';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { OperationalError, UsageError } from '@ner-launch/common';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { addLaunchOptions } from '../launch-options.js';
import { selfTestScript } from '../worker-command.js';
import { runLaunch } from './launch.js';

/** The success line printed when every check passed. */
export const TEST_SUCCESS_LINE = 'Test is a success! You are ready for your distributed training!';

const BENCHMARK_GROUP = 'Benchmark (--benchmark):';

/** Runs the benchmark launch; prints rank 0's report (table, or JSON with --json). */
async function runBenchmark(argv: Record<string, unknown>, script: string): Promise<void> {
  const args = [
    '--sizes_mb',
    String(argv.sizes_mb),
    '--dtype',
    String(argv.dtype),
    '--buffers',
    String(argv.buffers),
  ];
  if (argv.iterations !== undefined) args.push('--iterations', String(argv.iterations));
  try {
    parseBenchmarkOptions(args);
  } catch (error) {
    // A usage error: one line, before any worker starts.
    throw new UsageError((error as Error).message, { cause: error });
  }
  const dir = mkdtempSync(join(tmpdir(), 'ner-launch-bench-'));
  const report = join(dir, 'report.json');
  try {
    const code = await runLaunch(argv, {
      kind: 'script',
      path: script,
      args: ['--benchmark', ...args, '--report', report],
    });
    if (code !== 0) return;
    // On a machine other than the main one there is no rank 0, so no report to show.
    if (!existsSync(report)) return;
    const result = JSON.parse(readFileSync(report, 'utf8')) as BenchmarkReport;
    process.stdout.write(
      argv.json ? `${JSON.stringify(result, null, 2)}\n` : `${formatBenchmarkTable(result)}\n`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export const testCommand: CommandModule = {
  command: 'test',
  describe:
    'Check the process group on this set-up (rendezvous, all-reduce, broadcast, gather, barrier, sharding), or benchmark its all-reduce',
  builder: (y: Argv) =>
    addLaunchOptions(y)
      .option('benchmark', {
        type: 'boolean',
        default: false,
        group: BENCHMARK_GROUP,
        describe:
          'Measure all-reduce algbw/busbw and CPU seconds per rank beside the raw transport between ranks 0 and 1 (as nccl-tests all_reduce_perf)',
      })
      .option('sizes_mb', {
        type: 'string',
        default: '4,64,440',
        group: BENCHMARK_GROUP,
        describe: 'Array sizes in MB (in the wire dtype), comma-separated',
      })
      .option('dtype', {
        type: 'string',
        default: 'fp32',
        group: BENCHMARK_GROUP,
        describe: 'Wire dtypes to measure, comma-separated: fp32, fp16, bf16',
      })
      .option('buffers', {
        type: 'string',
        default: 'registered',
        group: BENCHMARK_GROUP,
        describe:
          "Arrays to all-reduce: 'registered' (the group's own, read in place by a neighbour on this machine, as the trainer's gradient buckets) or 'plain'",
      })
      .option('iterations', {
        type: 'number',
        group: BENCHMARK_GROUP,
        describe: 'Timed all-reduces per size (default 10 up to 32 MB, 5 up to 128 MB, else 3)',
      })
      .option('json', {
        type: 'boolean',
        default: false,
        group: BENCHMARK_GROUP,
        describe: 'Print the benchmark report as JSON instead of a table',
      }),
  handler: async (argv) => {
    const script = selfTestScript();
    if (!existsSync(script))
      throw new OperationalError(
        `the process-group self test is not available yet in this build (${script} is missing)`,
      );
    if (argv.benchmark) return runBenchmark(argv as Record<string, unknown>, script);
    const code = await runLaunch(argv as Record<string, unknown>, {
      kind: 'script',
      path: script,
      args: [],
    });
    if (code === 0) process.stdout.write(`${TEST_SUCCESS_LINE}\n`);
  },
};
