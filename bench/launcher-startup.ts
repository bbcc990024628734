/**
 * Start-up benchmark (issue 4; not a test): wall time from spawning `ner-launch` to the end of
 * the first training step, with the phases in between, for 1 and 2 CPU workers on the
 * quickstart model; beside it `ner-launch -h` and `ner-launch test --cpu --num_processes 2`.
 * Each case runs --repeats times (the machine is shared: the load average is recorded before
 * every run); the medians go to bench/results/launcher-startup.json.
 *   node --import tsx bench/launcher-startup.ts [--repeats 3] [--procs 1,2]
 *
 * "First step done" is the trainer's `Epoch 0 | Batch 0/N` log line, which the loop writes
 * after batch 0's forward, backward, all-reduce and AdamW step (with the default
 * gradient_accumulation_steps 1). The train runs are stopped there (SIGTERM to the group).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from '@ner-launch/common';
import { machineInfo } from './machine-info.js';
import {
  argValue,
  median,
  REPO_ROOT,
  timeRun,
  type Marker,
  type TimedRun,
} from './launch-timing.js';

/** Phase markers of a `train` launch, in the order they appear. */
const TRAIN_MARKERS: Marker[] = [
  // The launcher has parsed its flags and config and is about to spawn the workers.
  { name: 'launcherReady', pattern: /starting \d+ worker\(s\)/ },
  // Rank 0 has its backend and has completed the rendezvous (Accelerator.create).
  { name: 'workersJoined', pattern: /ner-launch train: \d+ process\(es\)/ },
  { name: 'tokenized', pattern: /Tokenized: / },
  // Model built, optimizer and schedule set: the loop starts right after.
  { name: 'scheduleReady', pattern: /Schedule: / },
  { name: 'firstStepDone', pattern: /Epoch 0 \| Batch 0\// },
];

const repeats = Number(argValue('--repeats', '3'));
const procs = argValue('--procs', '1,2').split(',').map(Number);

interface CaseSummary {
  name: string;
  command: string;
  runs: (Pick<TimedRun, 'wallSeconds' | 'exitCode' | 'marks' | 'cpuMarks'> & {
    loadAverage1m: number;
  })[];
  medianWallSeconds: number;
  medianMarks?: Record<string, number>;
  /** Median CPU seconds (launcher + workers) used up to each marker: independent of the load. */
  medianCpuMarks?: Record<string, number>;
  failures: number;
}

async function measure(
  name: string,
  args: string[],
  options: { markers?: Marker[]; stopAt?: string; succeeded: (run: TimedRun) => boolean },
): Promise<CaseSummary> {
  const runs: CaseSummary['runs'] = [];
  let failures = 0;
  for (let r = 0; r < repeats; r++) {
    const load = loadavg()[0];
    const run = await timeRun(args, {
      ...(options.markers ? { markers: options.markers } : {}),
      ...(options.stopAt ? { stopAt: options.stopAt } : {}),
    });
    if (run.leftovers.length > 0)
      process.stderr.write(`${name}: workers outlived the launcher: ${run.leftovers.join(', ')}\n`);
    if (!options.succeeded(run)) {
      failures++;
      process.stderr.write(`${name}: run ${r + 1} failed (exit ${run.exitCode}):\n${run.tail}\n`);
      continue;
    }
    runs.push({
      wallSeconds: run.wallSeconds,
      exitCode: run.exitCode,
      marks: run.marks,
      cpuMarks: run.cpuMarks,
      loadAverage1m: load,
    });
    process.stderr.write(
      `${name} #${r + 1}: ${run.wallSeconds.toFixed(2)} s${Object.keys(run.marks).length > 0 ? ` ${JSON.stringify(Object.fromEntries(Object.entries(run.marks).map(([k, v]) => [k, Number(v.toFixed(2))])))}` : ''} (load ${load.toFixed(2)})\n`,
    );
  }
  const summary: CaseSummary = {
    name,
    command: `ner-launch ${args.join(' ')}`,
    runs,
    medianWallSeconds: runs.length > 0 ? median(runs.map((r) => r.wallSeconds)) : NaN,
    failures,
  };
  if (options.markers && runs.length > 0)
    summary.medianMarks = Object.fromEntries(
      options.markers
        .filter((m) => runs.every((r) => m.name in r.marks))
        .map((m) => [m.name, median(runs.map((r) => r.marks[m.name]))]),
    );
  if (options.markers && runs.length > 0)
    summary.medianCpuMarks = Object.fromEntries(
      options.markers
        .filter((m) => runs.every((r) => m.name in r.cpuMarks))
        .map((m) => [m.name, median(runs.map((r) => r.cpuMarks[m.name]))]),
    );
  return summary;
}

const machine = machineInfo();
const scratch = mkdtempSync(join(tmpdir(), 'ner-bench-startup-'));
const cases: CaseSummary[] = [];
try {
  cases.push(
    await measure('help', ['-h'], { succeeded: (r) => r.exitCode === 0 }),
    await measure(
      'test-cpu-2',
      ['--cpu', '--num_processes', '2', '--main_process_port', '0', 'test'],
      { succeeded: (r) => r.exitCode === 0 && /all checks passed/.test(r.tail) },
    ),
  );
  for (const n of procs)
    cases.push(
      await measure(
        `train-first-step-cpu-${n}`,
        [
          '--cpu',
          '--num_processes',
          String(n),
          '--main_process_port',
          '0',
          'train',
          '--config',
          'configs/quickstart.yaml',
          '--epochs',
          '1',
          '--save_model_path',
          join(scratch, `run-${n}`),
        ],
        {
          markers: TRAIN_MARKERS,
          stopAt: 'firstStepDone',
          succeeded: (r) => r.marks.firstStepDone !== undefined,
        },
      ),
    );
} finally {
  rmSync(scratch, { recursive: true, force: true });
}

const result = {
  benchmark: 'launcher-startup',
  description:
    'Seconds from spawning `node packages/launcher/bin/ner-launch.mjs ...` (tsx, no build) to each marker line; medians over repeats. Train: quickstart config (2-layer, hidden 64), batch 16 per process; firstStepDone = the `Epoch 0 | Batch 0/N` log line after step 1; the run is then stopped.',
  date: new Date().toISOString(),
  machine,
  loadAverageAtEnd: loadavg(),
  repeats,
  cases,
};
const out = join(REPO_ROOT, 'bench/results/launcher-startup.json');
await writeFileAtomic(out, `${JSON.stringify(result, null, 2)}\n`);
for (const c of cases)
  process.stdout.write(
    `${c.name}: median ${c.medianWallSeconds.toFixed(2)} s${c.medianMarks ? ` ${JSON.stringify(Object.fromEntries(Object.entries(c.medianMarks).map(([k, v]) => [k, Number(v.toFixed(2))])))}` : ''}${c.failures ? ` (${c.failures} failed)` : ''}\n`,
  );
process.stdout.write(`wrote ${out}\n`);
if (cases.some((c) => c.runs.length === 0)) process.exitCode = 1;
