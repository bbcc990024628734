import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ProcessGroupError } from '../src/process-group.js';
import { SingleProcessGroup } from '../src/single-process-group.js';

test('a world of one returns its own data from every collective', async () => {
  const g = new SingleProcessGroup();
  const data = new Float32Array([1, 2]);
  assert.equal(await g.allReduce(data, 'mean', { wire: 'fp16' }), data);
  assert.deepEqual([...data], [1, 2]);
  assert.deepEqual(await g.allGather(data), [data]);
  assert.deepEqual(await g.broadcastObject({ a: 1 }), { a: 1 });
  assert.deepEqual(await g.gatherObject('x'), ['x']);
  await g.barrier();
  await assert.rejects(
    Promise.resolve().then(() => g.broadcast(data, 1)),
    /root rank 1/,
  );
  await g.close();
  await assert.rejects(
    Promise.resolve().then(() => g.barrier()),
    ProcessGroupError,
  );
});
