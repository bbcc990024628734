import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { debugErrors, errorReport, OperationalError, UsageError } from '../src/errors.js';

test('a usage error is one line and exit code 2; it keeps the flag at fault', () => {
  const error = new UsageError('--epochs: must be >= 1 (got 0)', { flag: 'epochs' });
  assert.equal(error.flag, 'epochs');
  assert.equal(error.name, 'UsageError');
  assert.ok(error instanceof OperationalError);
  assert.deepEqual(errorReport(error, 'ner-launch train', {}), {
    text: 'ner-launch train: error: --epochs: must be >= 1 (got 0)\n',
    exitCode: 2,
  });
});

test('an operational error is one line and exit code 1; a subclass keeps its own name', () => {
  class PeerLost extends OperationalError {}
  const error = new PeerLost('rank 1 (10.0.0.2:29500) is gone');
  assert.equal(error.name, 'PeerLost');
  assert.deepEqual(errorReport(error, 'ner-launch', {}), {
    text: 'ner-launch: error: rank 1 (10.0.0.2:29500) is gone\n',
    exitCode: 1,
  });
});

test('a multi-line message still prints as one line', () => {
  const report = errorReport(new UsageError('bad.yaml:2: invalid YAML:\n  a: [\n  ^'), 'x', {});
  assert.equal(report.text, 'x: error: bad.yaml:2: invalid YAML: a: [ ^\n');
});

test('a failed system call is one line naming the path, exit code 1', async () => {
  const error = await readFile('/nonexistent/ner-launch-errors-test').catch((e: unknown) => e);
  const report = errorReport(error, 'ner-launch data', {});
  assert.equal(
    report.text,
    "ner-launch data: error: ENOENT: no such file or directory, open '/nonexistent/ner-launch-errors-test'\n",
  );
  assert.equal(report.exitCode, 1);
});

test('anything else is a bug: the stack is printed, exit code 1', () => {
  const bug = new TypeError("Cannot read properties of undefined (reading 'shape')");
  const report = errorReport(bug, 'ner-launch', {});
  assert.equal(report.exitCode, 1);
  const lines = report.text.split('\n');
  assert.equal(lines[0], 'ner-launch: internal error (a bug; please report it):');
  assert.equal(lines[1], "TypeError: Cannot read properties of undefined (reading 'shape')");
  assert.match(lines[2]!, /^ {4}at .*errors\.test\.ts/);
  assert.equal(errorReport('thrown string', 'ner-launch', {}).text.split('\n')[1], 'thrown string');
});

test('NER_LAUNCH_DEBUG=1 (or NER_LOG_LEVEL=debug) adds the stack to the one line', () => {
  assert.equal(debugErrors({}), false);
  assert.equal(debugErrors({ NER_LAUNCH_DEBUG: '0' }), false);
  assert.equal(debugErrors({ NER_LAUNCH_DEBUG: '1' }), true);
  assert.equal(debugErrors({ NER_LOG_LEVEL: 'debug' }), true);
  const report = errorReport(new UsageError('--seed: expected an integer'), 'ner-launch', {
    NER_LAUNCH_DEBUG: '1',
  });
  const lines = report.text.split('\n');
  assert.equal(lines[0], 'ner-launch: error: --seed: expected an integer');
  assert.equal(lines[1], 'UsageError: --seed: expected an integer');
  assert.match(lines[2]!, /^ {4}at /);
  assert.equal(report.exitCode, 2);
});
