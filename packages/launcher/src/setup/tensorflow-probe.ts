// Run by tensorflow-report.ts in a child process: loads the tensorflow backend (TensorFlow's
// own log on, so the devices it creates are listed on stderr) and prints what loaded as JSON.
import * as tf from '@tensorflow/tfjs-core';
import { loadTensorflowBackend } from '@ner-launch/trainer/tensorflow-loader';

const info = await loadTensorflowBackend();
await tf.setBackend('tensorflow');
process.stdout.write(`${JSON.stringify(info)}\n`);
