/**
 * Where `ner-launch setup tensorflow` takes libtensorflow from, in this order: `--wheel` files,
 * an installed Python TensorFlow (with its nvidia-* packages for `--gpu`), else the PyPI wheels
 * fetched with that Python's pip.
 */
import { existsSync, readdirSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { DEFAULT_TENSORFLOW_VERSION } from '@ner-launch/trainer/tensorflow-install';
import type { PythonProbe } from './python-env.js';
import { REQUIRED_NVIDIA_PACKAGES, type TensorflowFileSource } from './tensorflow-files.js';
import { outputTail, runCommand } from './run-command.js';
import { SetupError } from './setup-error.js';

/** A chosen source: its TensorFlow version, a description, and how to get its files. */
export interface TensorflowSource {
  version: string;
  description: string;
  /** Downloads what is needed into `scratch` (pip only) and says where the files are. */
  files(scratch: string, showProgress: boolean): Promise<TensorflowFileSource>;
}

const TF_WHEEL =
  /^(tensorflow|tensorflow[-_]cpu|tensorflow[-_]intel)-(\d+\.\d+\.\d+[^-]*)-.*\.whl$/i;

function wheelSource(wheels: string[], gpu: boolean): TensorflowSource {
  const paths = wheels.map((w) => resolve(w));
  for (const path of paths)
    if (!existsSync(path)) throw new SetupError(`--wheel ${path}: no such file`);
  const tfWheel = paths.map((p) => TF_WHEEL.exec(basename(p))).find((m) => m !== null);
  if (!tfWheel)
    throw new SetupError(
      `--wheel ${wheels.join(' ')}: no TensorFlow wheel among them (e.g. tensorflow_cpu-${DEFAULT_TENSORFLOW_VERSION}-cp311-cp311-manylinux_2_27_x86_64.whl)`,
    );
  if (gpu && /cpu/i.test(tfWheel[1] ?? ''))
    throw new SetupError(
      `--gpu needs the CUDA-capable tensorflow wheel, not ${basename(tfWheel.input)} (tensorflow-cpu)`,
    );
  return {
    version: tfWheel[2] ?? '',
    description: `wheel ${paths.map((p) => basename(p)).join(', ')}`,
    files: () => Promise.resolve({ wheels: paths }),
  };
}

function installedSource(python: PythonProbe, gpu: boolean): TensorflowSource | undefined {
  const tf = python.tensorflow;
  if (!tf) return undefined;
  const install = `${python.executable} -m pip install 'tensorflow[and-cuda]==${tf.version}'`;
  if (gpu && tf.distribution !== 'tensorflow')
    throw new SetupError(
      `--gpu: the TensorFlow of ${python.executable} is ${tf.distribution} (no CUDA); run ${install}, or pass --python with another Python`,
    );
  if (gpu) {
    const missing = REQUIRED_NVIDIA_PACKAGES.filter((p) => !tf.nvidiaPackages.includes(p));
    if (missing.length > 0)
      throw new SetupError(
        `GPU libraries missing beside ${python.executable}'s TensorFlow (${missing.map((p) => `nvidia-${p.replace('_', '-')}-cu12`).join(', ')}): run ${install}`,
      );
  }
  return {
    version: tf.version,
    description: `${tf.distribution} ${tf.version} installed in ${tf.sitePackages}`,
    files: () => Promise.resolve({ sitePackages: tf.sitePackages }),
  };
}

function pipSource(python: PythonProbe, gpu: boolean): TensorflowSource {
  const version = DEFAULT_TENSORFLOW_VERSION;
  const requirement = gpu ? `tensorflow[and-cuda]==${version}` : `tensorflow-cpu==${version}`;
  if (!python.hasPip)
    throw new SetupError(
      `pip is missing in ${python.executable}: run ${python.executable} -m ensurepip, pass --python with a Python that has pip, or pass --wheel FILE`,
    );
  return {
    version,
    description: `${requirement} from PyPI (pip of ${python.executable})`,
    async files(scratch, showProgress) {
      // CPU: the one wheel; CUDA: TensorFlow with its nvidia-*-cu12 wheels (~3 GB).
      const args = ['-m', 'pip', 'download', '--only-binary=:all:', '-d', scratch];
      if (!gpu) args.push('--no-deps');
      if (!showProgress) args.push('-q');
      const result = await runCommand(python.executable, [...args, requirement], {
        inherit: showProgress,
      });
      if (result.status !== 0) {
        const noMatch = /No matching distribution|Could not find a version/.test(result.output);
        throw new SetupError(
          noMatch
            ? `pip finds no ${requirement} wheel for Python ${python.version} on this platform (TensorFlow ${version} has wheels for CPython 3.10-3.13 on Linux): pass --python with another Python, or --wheel FILE`
            : `pip download ${requirement} failed (is PyPI reachable? offline, pass --wheel FILE)`,
          outputTail(result.output),
        );
      }
      const wheels = readdirSync(scratch)
        .filter((f) => f.endsWith('.whl') && (TF_WHEEL.test(f) || f.startsWith('nvidia_')))
        .map((f) => join(scratch, f));
      return { wheels };
    },
  };
}

/** Picks the source for `--wheel`, `--gpu` and the probed Python. */
export function chooseTensorflowSource(
  python: PythonProbe,
  gpu: boolean,
  wheels: string[],
): TensorflowSource {
  if (wheels.length > 0) return wheelSource(wheels, gpu);
  return installedSource(python, gpu) ?? pipSource(python, gpu);
}
