import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SELF_TEST_SCRIPT, SELF_TEST_SUCCESS } from '../src/self-test.js';
import { describeFailures, spawnWorkers } from '../../../test/support/spawn-workers.js';

test('the self-test script passes on two processes and only the main process prints the success line', async () => {
  const results = await spawnWorkers({ worldSize: 2, script: SELF_TEST_SCRIPT });
  assert.ok(
    results.every((r) => r.code === 0),
    describeFailures(results),
  );
  assert.match(results[0].stdout, new RegExp(`^${SELF_TEST_SUCCESS} \\(2 processes`));
  assert.equal(results[1].stdout, '');
});

test('the self-test script passes standalone, as a world of one', async () => {
  const [result] = await spawnWorkers({ worldSize: 1, script: SELF_TEST_SCRIPT });
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /\(1 process:/);
});
