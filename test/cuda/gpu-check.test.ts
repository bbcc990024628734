/**
 * The CUDA GPU check's own logic (tools/cuda), run here on the emulated device so that the
 * device call does not find a bug in the harness: every kernel check passes on kernels that
 * follow the .cu semantics, and the model parity check passes against PyTorch's tiny reference.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { runKernelChecks } from '../../tools/cuda/kernel-checks.js';
import { parityCheck } from '../../tools/cuda/model-checks.js';
import { emulatedCheckDevice, emulatedDevice } from '../support/cuda-emulated-device.js';
import { runReference, skipWithoutPython } from '../support/python.js';

const dir = mkdtempSync(join(tmpdir(), 'ner-cuda-check-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('every kernel check passes on the emulated kernels', () => {
  const checks = runKernelChecks(emulatedCheckDevice());
  assert.ok(checks.length >= 12);
  for (const check of checks)
    assert.ok(
      check.pass,
      `${check.kernel} (${check.shape}): ${JSON.stringify(check.errors)} ${check.error ?? ''}`,
    );
});

test(
  'the parity check passes against the tiny PyTorch reference on the emulated device',
  { skip: skipWithoutPython() },
  async () => {
    runReference('../cuda/torch_reference.py', [
      '--out',
      dir,
      '--tiny',
      '--device',
      'cpu',
      '--batch',
      '2',
      '--seq',
      '12',
    ]);
    const result = await parityCheck(dir, 'fp32', emulatedDevice().device);
    assert.equal(result.logitsPass, true, JSON.stringify(result));
    assert.equal(result.gradientsPass, true, JSON.stringify(result));
    assert.equal(result.adamwPass, true, JSON.stringify(result));
    assert.ok((result.lossRelative as number) < 1e-6, JSON.stringify(result));
  },
);
