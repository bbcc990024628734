/**
 * Data-parallel training equals single-process training at the global batch: the same 2-epoch
 * run with `--cpu --num_processes 2` (batch 4 per process) and with 1 process at batch 8 gives
 * the same metrics.json figures (1e-5) and weights (max abs 1e-5). Dropout is 0 in the fixture
 * model, so only float32 summation order differs. On every conformance backend.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { loadPretrained } from '@ner-launch/trainer';
import { makeTinyTrainingFixture } from '../support/tiny-training.js';
import { CONFORMANCE_BACKENDS } from '../support/backends.js';
import { runCli } from '../support/cli.js';

const root = await mkdtemp(join(tmpdir(), 'train-distributed-'));
after(() => rm(root, { recursive: true, force: true }));
const fixture = await makeTinyTrainingFixture(root);

function launch(processes: number, batch: number, out: string, backend: string): void {
  runCli(
    [
      '--cpu',
      '--num_processes',
      String(processes),
      '--main_process_port',
      '0',
      '--backend',
      backend,
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
      '--learning_rate',
      '0.005',
      '--max_len',
      '64',
    ],
    `launch with ${processes} process(es) on ${backend}`,
    240_000,
  );
}

for (const { backend, skip } of CONFORMANCE_BACKENDS)
  test(
    `2 processes at batch 4 give the figures and weights of 1 process at batch 8 (${backend})`,
    { skip },
    async () => {
      const two = join(root, `two-${backend}`);
      const one = join(root, `one-${backend}`);
      launch(2, 4, two, backend);
      launch(1, 8, one, backend);
      const a = JSON.parse(await readFile(join(two, 'metrics.json'), 'utf8'));
      const b = JSON.parse(await readFile(join(one, 'metrics.json'), 'utf8'));
      assert.equal(a.history.length, 2);
      const close = (x: unknown, y: unknown, path: string): void => {
        if (typeof x === 'number') {
          assert.ok(Math.abs(x - (y as number)) <= 1e-5, `${path}: ${x} vs ${String(y)}`);
        } else if (x && typeof x === 'object') {
          for (const key of Object.keys(x))
            close(
              (x as Record<string, unknown>)[key],
              (y as Record<string, unknown>)[key],
              `${path}.${key}`,
            );
        } else assert.equal(x, y, path);
      };
      close(a, b, 'metrics');
      const wa = (await loadPretrained(two)).stateDict;
      const wb = (await loadPretrained(one)).stateDict;
      let worst = 0;
      for (const [name, t] of wa) {
        const u = wb.get(name)!.data;
        for (let i = 0; i < t.data.length; i++) worst = Math.max(worst, Math.abs(t.data[i] - u[i]));
      }
      assert.ok(worst <= 1e-5, `max abs weight difference ${worst}`);
    },
  );
