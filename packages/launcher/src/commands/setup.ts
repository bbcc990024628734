/**
 * `ner-launch setup tensorflow [--gpu] [--python PY] [--wheel FILE]`: provisions libtensorflow
 * for the `tensorflow` backend and builds tfjs-node's binding against it, once per machine
 * (the cache is shared by every checkout). The work is in ../setup/, imported when it runs.
 */
import type { Argv, CommandModule } from 'yargs';
import { log } from '@ner-launch/common';

/** Options of `ner-launch setup tensorflow`. */
export interface SetupTensorflowArgs {
  gpu: boolean;
  python?: string;
  wheel?: string[];
}

const tensorflowCommand: CommandModule<object, SetupTensorflowArgs> = {
  command: 'tensorflow',
  describe:
    'Provision libtensorflow (PyPI TensorFlow 2.21, CPU or CUDA 12) and build the tfjs-node binding for --backend tensorflow',
  builder: (y) =>
    y
      .option('gpu', {
        type: 'boolean',
        default: false,
        describe:
          'The CUDA 12 build: tensorflow + its nvidia-*-cu12 libraries (~3 GB download) instead of tensorflow-cpu (~270 MB)',
      })
      .option('python', {
        type: 'string',
        describe:
          'Python to take an installed TensorFlow from, or whose pip downloads it (default: python3 on PATH)',
      })
      .option('wheel', {
        type: 'string',
        array: true,
        describe:
          'Offline: TensorFlow wheel file(s) to use instead (with --gpu also the nvidia-*-cu12 wheels)',
      }),
  handler: async (argv) => {
    const { setupTensorflow } = await import('../setup/tensorflow-setup.js');
    const { SetupError } = await import('../setup/setup-error.js');
    const started = Date.now();
    try {
      const result = await setupTensorflow({
        gpu: argv.gpu,
        python: argv.python,
        wheels: argv.wheel ?? [],
        progress: (line) => log.info(`setup tensorflow: ${line}`),
        showToolProgress: process.stderr.isTTY,
      });
      const what = `TensorFlow ${result.manifest.tensorflowVersion} (${result.manifest.build === 'gpu' ? 'CUDA' : 'CPU'} build)`;
      const seconds = ((Date.now() - started) / 1000).toFixed(0);
      process.stdout.write(
        result.status === 'installed'
          ? `${what} set up in ${result.dir} (${seconds} s); --backend tensorflow uses it\n`
          : `${what} is already set up in ${result.dir}; nothing to do\n`,
      );
    } catch (error) {
      // The failing tool's output (compiler errors) goes above main.ts's one line.
      if (error instanceof SetupError && error.detail) process.stderr.write(`${error.detail}\n`);
      throw error;
    }
  },
};

export const setupCommand: CommandModule = {
  command: 'setup',
  describe: 'Install optional components once per machine (setup tensorflow)',
  builder: (y: Argv) =>
    y.command(tensorflowCommand).demandCommand(1, 'name what to set up: tensorflow'),
  handler: () => {},
};
