import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { ErrorLines, RankOutput } from '../src/worker-output.js';

function consoleSink() {
  const stderr = new PassThrough();
  let text = '';
  stderr.on('data', (c: Buffer) => (text += c.toString()));
  return { streams: { stdout: new PassThrough(), stderr }, text: () => text };
}

test('an error line every rank prints reaches the console once; the repeats are held', async () => {
  const sink = consoleSink();
  const errorLines = new ErrorLines();
  const options = { console: sink.streams, tee: 0 as const, attempt: 0, prefix: true, errorLines };
  const ranks = [new RankOutput(0, options), new RankOutput(1, options)];
  const error = 'ner-launch train: error: data/train.csv:3: record 2: bad tags\n';
  ranks[1]!.stderr(`{"level":30,"msg":"start"}\n${error}`);
  ranks[0]!.stderr(`{"level":30,"msg":"start"}\n${error}`);
  ranks[0]!.stderr('ner-launch train: error: another problem\n');
  await Promise.all(ranks.map((r) => r.close()));
  assert.equal(
    sink.text(),
    [
      '[rank 1] {"level":30,"msg":"start"}',
      `[rank 1] ${error.trimEnd()}`,
      '[rank 0] {"level":30,"msg":"start"}',
      '[rank 0] ner-launch train: error: another problem',
      '',
    ].join('\n'),
  );
  assert.deepEqual(errorLines.held, [`[rank 0] ${error}`]);
  // The failure summary still has each rank's own tail.
  assert.equal(ranks[0]!.stderrTail()[1], error.trimEnd());
});
