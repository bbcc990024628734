import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { createProgress } from '../../src/train/progress.js';

function capture(isTTY: boolean): {
  stream: PassThrough & { isTTY?: boolean; columns?: number };
  text: () => string;
} {
  const stream = Object.assign(new PassThrough(), { isTTY, columns: 100 });
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}

test('on a pipe, progress is plain lines: the first, every tenth and the last', () => {
  const { stream, text } = capture(false);
  const clock = 0;
  const progress = createProgress({ label: 'Epoch 1/3', total: 20, stream, now: () => clock });
  for (let i = 1; i <= 20; i++) progress.update(i, { loss: 1 / i });
  progress.stop();
  const lines = text().trim().split('\n');
  assert.deepEqual(
    lines.map((l) => l.split(':')[1].trim().split(' ')[0]),
    ['1/20', '2/20', '4/20', '6/20', '8/20', '10/20', '12/20', '14/20', '16/20', '18/20', '20/20'],
  );
  assert.match(lines[lines.length - 1], /^Epoch 1\/3: 20\/20 \(100%\) .* \| loss 0\.05$/);
  assert.ok(!text().includes('\r') && !text().includes('\u001b'), 'no terminal control codes');
});

test('on a pipe, a slow loop also prints after the time interval', () => {
  const { stream, text } = capture(false);
  let clock = 0;
  const progress = createProgress({
    label: 'Validation',
    total: 1000,
    stream,
    now: () => clock,
    intervalMs: 1000,
  });
  progress.update(1);
  clock = 500;
  progress.update(2);
  clock = 1600;
  progress.update(3);
  progress.stop();
  assert.deepEqual(
    text()
      .trim()
      .split('\n')
      .map((l) => l.split(' ')[1]),
    ['1/1000', '3/1000'],
  );
});

test('on a terminal, progress is a redrawn bar', () => {
  const { stream, text } = capture(true);
  const progress = createProgress({ label: 'Epoch 1/1', total: 4, stream });
  for (let i = 1; i <= 4; i++) progress.update(i, { loss: 0.5 });
  progress.stop();
  assert.match(text(), /Epoch 1\/1 \|.*\| 4\/4 100%/);
});

test('a disabled progress writes nothing', () => {
  const { stream, text } = capture(false);
  const progress = createProgress({ label: 'x', total: 5, stream, enabled: false });
  progress.update(5);
  progress.stop();
  assert.equal(text(), '');
});
