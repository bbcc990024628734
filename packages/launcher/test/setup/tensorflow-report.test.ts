import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { findTensorflowInstall } from '@ner-launch/trainer/tensorflow-install';
import { gpusInTensorflowLog, tensorflowReportLines } from '../../src/setup/tensorflow-report.js';
import { skipWithoutTensorflow } from '../../../../test/support/tensorflow.js';

describe('ner-launch env: the tensorflow backend', () => {
  it('lists the GPUs from the devices TensorFlow logs that it created', () => {
    const log = [
      'I0000 00:00:1742566348.340543  458471 gpu_device.cc:2019] Created device /job:localhost/replica:0/task:0/device:GPU:0 with 79110 MB memory:  -> device: 0, name: NVIDIA H100 80GB HBM3, pci bus id: 0000:00:07.0, compute capability: 9.0',
      'I0000 00:00:1742566348.341000  458471 gpu_device.cc:2019] Created device /job:localhost/replica:0/task:0/device:GPU:1 with 79110 MB memory:  -> device: 1, name: NVIDIA H100 80GB HBM3, pci bus id: 0000:00:08.0, compute capability: 9.0',
      'W0000 00:00:1742566348.2 gpu_device.cc:2342] Cannot dlopen some GPU libraries.',
    ].join('\n');
    assert.deepEqual(gpusInTensorflowLog(log), [
      'GPU:0 NVIDIA H100 80GB HBM3 (PCI 0000:00:07.0)',
      'GPU:1 NVIDIA H100 80GB HBM3 (PCI 0000:00:08.0)',
    ]);
    assert.deepEqual(gpusInTensorflowLog(log.split('\n')[2]!), []);
  });

  it('says how to set it up when the cache has no install', () => {
    const empty = mkdtempSync(join(tmpdir(), 'ner-env-tf-'));
    try {
      const lines = tensorflowReportLines({ ...process.env, NER_LAUNCH_CACHE: empty });
      assert.deepEqual(lines, [
        '  - tensorflow: not set up (ner-launch setup tensorflow, or --gpu for CUDA 12)',
      ]);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it('reports the loaded TensorFlow version and build', { skip: skipWithoutTensorflow() }, () => {
    const install = findTensorflowInstall()!;
    const [first, second] = tensorflowReportLines();
    const build = install.manifest.build === 'gpu' ? 'CUDA build' : 'CPU build';
    assert.equal(
      first,
      `  - tensorflow: TensorFlow ${install.manifest.tensorflowVersion}, ${build} (${install.dir})`,
    );
    assert.match(second!, /^ {4}GPUs TensorFlow sees: /);
  });
});
