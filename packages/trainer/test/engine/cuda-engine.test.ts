/**
 * `--backend cuda` on a machine without an NVIDIA driver or CUDA libraries (as here and in CI):
 * the run stops before reading any data with one line naming what was looked for and where.
 * (The engine itself is checked on a GPU by tools/cuda/check.sh, and on an emulated device by
 * packages/cuda's tests.)
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { cudaUnavailable } from '../../src/engine/cuda-engine.js';
import { runTraining } from '../../src/train/run-training.js';
import { UsageError } from '@ner-launch/common';
import { resolveTrainOptions } from '../../src/train/train-options.js';

const root = await mkdtemp(join(tmpdir(), 'engine-cuda-'));
after(() => rm(root, { recursive: true, force: true }));
const missing = await cudaUnavailable(join(root, 'no-cuda-here'));

test(
  'without a GPU or the libraries, --backend cuda fails in one line naming what it looked for',
  { skip: missing === undefined && 'this machine can run the cuda engine' },
  async () => {
    const options = await resolveTrainOptions(
      {
        data_path: join(root, 'data-never-read'),
        save_model_path: root,
        backend: 'cuda',
        cuda_home: join(root, 'no-cuda-here'),
      },
      {},
    );
    await assert.rejects(runTraining(options), (error: unknown) => {
      assert.ok(error instanceof UsageError);
      assert.equal(error.flag, 'backend');
      assert.doesNotMatch(error.message, /\n/);
      assert.match(error.message, /^--backend cuda cannot run: /);
      assert.match(error.message, /libcuda\.so\.1/);
      assert.match(error.message, /no-cuda-here/);
      return true;
    });
  },
);
