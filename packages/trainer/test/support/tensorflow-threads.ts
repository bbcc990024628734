// Child of backends/tensorflow.test.ts: loads the tensorflow backend with the thread counts in
// argv, runs a matmul (so the pools exist) and prints the process's OS thread count.
import { readdirSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { loadTensorflowBackend } from '../../src/backends/tensorflow-loader.js';

await loadTensorflowBackend({
  intraOpThreads: Number(process.argv[2]),
  interOpThreads: Number(process.argv[3]),
});
await tf.setBackend('tensorflow');
const x = tf.ones([512, 512]);
for (let i = 0; i < 3; i++) tf.matMul(x, x).dataSync();
process.stdout.write(`threads=${readdirSync('/proc/self/task').length}\n`);
