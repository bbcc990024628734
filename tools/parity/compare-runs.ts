/**
 * Compares a `ner-launch train` run with a `tools/reference/train_reference.py` run of the same
 * configuration: test entity F1 of both and their difference (the parity bar: within 1.0 point),
 * per-epoch figures and loss curves side by side, per-step losses when both runs wrote
 * `steps.jsonl`, wall times and tokens/s.
 *
 * Usage: npx tsx tools/parity/compare-runs.ts --ours DIR --ref DIR
 *          [--ours_wall S] [--ref_wall S] [--max_f1_diff 1.0] [--buckets 15]
 * Exit code 1 when the F1 difference exceeds --max_f1_diff, 2 on bad input.
 *
 * steps.jsonl (both trainers, in save_model_path): one JSON object per optimizer step,
 * `{"step": 1-based global step, "epoch": 1-based, "loss": the step's global mean token loss,
 * "lr": the learning rate applied in that step}`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

/** One line of steps.jsonl. */
export interface StepRecord {
  step: number;
  epoch: number;
  loss: number;
  lr: number;
}

/** The parts of metrics.json the comparison reads (both trainers write this schema). */
export interface RunMetrics {
  history: {
    epoch: number;
    train_loss: number;
    train_accuracy: number;
    train_f1: number;
    val_loss: number;
    val_accuracy: number;
    val_f1: number;
    lr: number;
  }[];
  test: {
    loss: number;
    overall_precision: number;
    overall_recall: number;
    overall_f1: number;
    overall_accuracy: number;
    without_O: { overall_f1: number };
  } | null;
}

/** What one run directory holds. */
export interface RunFiles {
  dir: string;
  metrics: RunMetrics;
  steps: StepRecord[] | null;
  /** train_reference.py's run.json (wall time, token counts), when present. */
  run: { wall_seconds?: number; train_tokens?: number } | null;
}

/** Reads steps.jsonl; an unreadable line throws naming the file and line. */
export function readSteps(path: string): StepRecord[] {
  const records: StepRecord[] = [];
  readFileSync(path, 'utf8')
    .split('\n')
    .forEach((line, i) => {
      if (line.trim() === '') return;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch (error) {
        throw new Error(`${path}:${i + 1}: not JSON (${(error as Error).message})`, {
          cause: error,
        });
      }
      const r = value as Partial<StepRecord>;
      for (const key of ['step', 'epoch', 'loss', 'lr'] as const)
        if (typeof r[key] !== 'number')
          throw new Error(`${path}:${i + 1}: "${key}" missing or not a number`);
      records.push(r as StepRecord);
    });
  return records;
}

/** Reads metrics.json (required), steps.jsonl and run.json (optional) of a run directory. */
export function readRunFiles(dir: string): RunFiles {
  const metricsPath = join(dir, 'metrics.json');
  if (!existsSync(metricsPath)) throw new Error(`${metricsPath}: not found (did the run finish?)`);
  const metrics = JSON.parse(readFileSync(metricsPath, 'utf8')) as RunMetrics;
  if (!Array.isArray(metrics.history))
    throw new Error(`${metricsPath}: no "history" array (not a trainer's metrics.json)`);
  const stepsPath = join(dir, 'steps.jsonl');
  const runPath = join(dir, 'run.json');
  return {
    dir,
    metrics,
    steps: existsSync(stepsPath) ? readSteps(stepsPath) : null,
    run: existsSync(runPath)
      ? (JSON.parse(readFileSync(runPath, 'utf8')) as RunFiles['run'])
      : null,
  };
}

/** Result of a step-by-step loss comparison. */
export interface StepComparison {
  compared: number;
  maxAbsDiff: number;
  maxRelDiff: number;
  /** Steps whose losses differ by more than atol + rtol x |reference|. */
  failures: { step: number; ours: number; ref: number }[];
}

/** Compares per-step losses (and step numbering) of two runs: |a - b| <= atol + rtol|b|. */
export function compareStepLosses(
  ours: readonly StepRecord[],
  ref: readonly StepRecord[],
  tolerance: { rtol: number; atol: number },
): StepComparison {
  if (ours.length !== ref.length)
    throw new Error(`step counts differ: ours ${ours.length}, reference ${ref.length}`);
  let maxAbsDiff = 0;
  let maxRelDiff = 0;
  const failures: StepComparison['failures'] = [];
  ours.forEach((a, i) => {
    const b = ref[i];
    if (a.step !== b.step) throw new Error(`line ${i + 1}: step ${a.step} vs reference ${b.step}`);
    const diff = Math.abs(a.loss - b.loss);
    maxAbsDiff = Math.max(maxAbsDiff, diff);
    maxRelDiff = Math.max(maxRelDiff, diff / Math.max(Math.abs(b.loss), 1e-12));
    if (!(diff <= tolerance.atol + tolerance.rtol * Math.abs(b.loss)))
      failures.push({ step: a.step, ours: a.loss, ref: b.loss });
  });
  return { compared: ours.length, maxAbsDiff, maxRelDiff, failures };
}

/** Mean loss of `buckets` consecutive, equal runs of steps (a loss curve that fits a screen). */
export function bucketMeans(steps: readonly StepRecord[], buckets: number): number[] {
  const n = Math.min(buckets, steps.length);
  return Array.from({ length: n }, (_, b) => {
    const part = steps.slice(
      Math.floor((b * steps.length) / n),
      Math.floor(((b + 1) * steps.length) / n),
    );
    return part.reduce((s, r) => s + r.loss, 0) / Math.max(1, part.length);
  });
}

const pad = (s: string, n: number): string => s.padStart(n);
const fix = (x: number | undefined, d = 4): string =>
  x === undefined || !Number.isFinite(x) ? '-' : x.toFixed(d);

/** The printed comparison. */
export function formatComparison(
  ours: RunFiles,
  ref: RunFiles,
  options: { oursWall?: number; refWall?: number; buckets: number; maxF1Diff: number },
): { text: string; f1DiffPoints: number; ok: boolean } {
  const lines: string[] = [];
  const oursF1 = ours.metrics.test?.overall_f1 ?? Number.NaN;
  const refF1 = ref.metrics.test?.overall_f1 ?? Number.NaN;
  const f1DiffPoints = 100 * (oursF1 - refF1);
  const ok = Math.abs(f1DiffPoints) <= options.maxF1Diff;
  lines.push(`ours: ${ours.dir}`, `ref:  ${ref.dir}`, '');
  lines.push(`${pad('', 22)}${pad('ours', 10)}${pad('reference', 11)}`);
  const row = (name: string, a?: number, b?: number): void => {
    lines.push(`${name.padEnd(22)}${pad(fix(a), 10)}${pad(fix(b), 11)}`);
  };
  row('test entity F1', oursF1, refF1);
  row('test precision', ours.metrics.test?.overall_precision, ref.metrics.test?.overall_precision);
  row('test recall', ours.metrics.test?.overall_recall, ref.metrics.test?.overall_recall);
  row('test accuracy', ours.metrics.test?.overall_accuracy, ref.metrics.test?.overall_accuracy);
  row(
    'test F1 without O',
    ours.metrics.test?.without_O.overall_f1,
    ref.metrics.test?.without_O.overall_f1,
  );
  row('test loss', ours.metrics.test?.loss, ref.metrics.test?.loss);
  lines.push(
    `F1 difference (ours - reference): ${f1DiffPoints.toFixed(2)} points; bar ±${options.maxF1Diff}: ${ok ? 'PASS' : 'FAIL'}`,
    '',
    'per epoch      train_loss (ours / ref)   val_loss (ours / ref)   val_f1 (ours / ref)   lr (ours / ref)',
  );
  const epochs = Math.max(ours.metrics.history.length, ref.metrics.history.length);
  for (let e = 0; e < epochs; e++) {
    const a = ours.metrics.history[e];
    const b = ref.metrics.history[e];
    lines.push(
      `epoch ${String(e + 1).padEnd(8)} ${fix(a?.train_loss)} / ${fix(b?.train_loss)}        ${fix(a?.val_loss)} / ${fix(b?.val_loss)}       ${fix(a?.val_f1)} / ${fix(b?.val_f1)}     ${a?.lr.toExponential(2) ?? '-'} / ${b?.lr.toExponential(2) ?? '-'}`,
    );
  }
  if (ours.steps && ref.steps) {
    const a = bucketMeans(ours.steps, options.buckets);
    const b = bucketMeans(ref.steps, options.buckets);
    lines.push(
      '',
      `training loss curve (mean per ${options.buckets} equal runs of steps; ours ${ours.steps.length} steps, reference ${ref.steps.length})`,
    );
    for (let i = 0; i < Math.max(a.length, b.length); i++)
      lines.push(`  ${pad(String(i + 1), 3)}  ${fix(a[i])}  ${fix(b[i])}`);
    if (ours.steps.length === ref.steps.length) {
      const c = compareStepLosses(ours.steps, ref.steps, { rtol: 0, atol: 0 });
      lines.push(
        `per-step loss: max |diff| ${c.maxAbsDiff.toExponential(3)}, max relative ${c.maxRelDiff.toExponential(3)} over ${c.compared} steps`,
      );
    }
  } else {
    lines.push(
      '',
      `per-step losses: ${ours.steps ? '' : 'ours '}${ref.steps ? '' : 'reference '}wrote no steps.jsonl`,
    );
  }
  const tokens = ref.run?.train_tokens;
  const refWall = options.refWall ?? ref.run?.wall_seconds;
  const speed = (wall?: number): string =>
    wall === undefined
      ? '-'
      : tokens === undefined
        ? `${wall.toFixed(1)} s`
        : `${wall.toFixed(1)} s, ${(tokens / wall).toFixed(0)} tokens/s`;
  lines.push(
    '',
    `wall time (whole run)  ours ${speed(options.oursWall)} | reference ${speed(refWall)}`,
    tokens === undefined
      ? ''
      : `(tokens = ${tokens} training word pieces over all epochs, padding excluded, the same for both runs)`,
  );
  return { text: lines.join('\n'), f1DiffPoints, ok };
}

function main(): void {
  const { values } = parseArgs({
    options: {
      ours: { type: 'string' },
      ref: { type: 'string' },
      ours_wall: { type: 'string' },
      ref_wall: { type: 'string' },
      max_f1_diff: { type: 'string', default: '1.0' },
      buckets: { type: 'string', default: '15' },
    },
  });
  if (!values.ours || !values.ref) {
    process.stderr.write('compare-runs: --ours DIR and --ref DIR are required\n');
    process.exit(2);
  }
  const num = (flag: string, v?: string): number | undefined => {
    if (v === undefined) return undefined;
    const x = Number(v);
    if (!Number.isFinite(x)) {
      process.stderr.write(`compare-runs: --${flag} ${v} is not a number\n`);
      process.exit(2);
    }
    return x;
  };
  try {
    const result = formatComparison(
      readRunFiles(resolve(values.ours)),
      readRunFiles(resolve(values.ref)),
      {
        oursWall: num('ours_wall', values.ours_wall),
        refWall: num('ref_wall', values.ref_wall),
        buckets: num('buckets', values.buckets) ?? 15,
        maxF1Diff: num('max_f1_diff', values.max_f1_diff) ?? 1,
      },
    );
    process.stdout.write(`${result.text}\n`);
    process.exitCode = result.ok ? 0 : 1;
  } catch (error) {
    process.stderr.write(`compare-runs: ${(error as Error).message}\n`);
    process.exitCode = 2;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) main();
