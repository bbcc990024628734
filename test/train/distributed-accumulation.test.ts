/**
 * Gradient accumulation across processes equals one big batch: 2 processes at batch 2 with
 * `--gradient_accumulation_steps 2` (the gradients of two micro-batches summed locally, then
 * one all-reduce per optimizer step) end a 2-epoch run with the weights of 1 process at
 * batch 8 (max abs 1e-5; only float32 summation order differs, dropout is 0 in the fixture).
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { loadPretrained } from '@ner-launch/trainer';
import { makeTinyTrainingFixture } from '../support/tiny-training.js';
import { runCli } from '../support/cli.js';

const root = await mkdtemp(join(tmpdir(), 'train-accumulation-'));
after(() => rm(root, { recursive: true, force: true }));
const fixture = await makeTinyTrainingFixture(root);

function launch(processes: number, batch: number, accumulation: number, out: string): void {
  runCli(
    [
      '--cpu',
      '--num_processes',
      String(processes),
      '--main_process_port',
      '0',
      '--backend',
      'wasm',
      'train',
      '--data_path',
      fixture.dataDir,
      '--model_name_or_path',
      fixture.modelDir,
      '--save_model_path',
      out,
      '--epochs',
      '2',
      '--batch_size',
      String(batch),
      '--gradient_accumulation_steps',
      String(accumulation),
      '--learning_rate',
      '0.005',
      '--max_len',
      '64',
    ],
    `launch with ${processes} process(es), accumulation ${accumulation}`,
    240_000,
  );
}

test('2 processes at batch 2 accumulating 2 steps give the weights of 1 process at batch 8', async () => {
  const two = join(root, 'two');
  const one = join(root, 'one');
  launch(2, 2, 2, two);
  launch(1, 8, 1, one);
  const stepsOf = async (dir: string): Promise<number> =>
    (await readFile(join(dir, 'steps.jsonl'), 'utf8')).trim().split('\n').length;
  // As many optimizer steps as the big-batch run: accumulation did not step per micro-batch.
  assert.equal(await stepsOf(two), await stepsOf(one));
  const wa = (await loadPretrained(two)).stateDict;
  const wb = (await loadPretrained(one)).stateDict;
  let worst = 0;
  for (const [name, t] of wa) {
    const u = wb.get(name)!.data;
    for (let i = 0; i < t.data.length; i++) worst = Math.max(worst, Math.abs(t.data[i] - u[i]));
  }
  assert.ok(worst <= 1e-5, `max abs weight difference ${worst}`);
});
