/**
 * Registers the `tensorflow` backend (libtensorflow through tfjs-node's native binding) into
 * the project's own tfjs-core, from the install `ner-launch setup tensorflow` left in the cache.
 * tfjs-node is not an npm dependency: its kernels `require('@tensorflow/tfjs')`, which inside
 * the install resolves to a shim returning the tfjs-core handle this module puts on globalThis,
 * so there is one engine and one kernel registry.
 */
import { UsageError, OperationalError } from '@ner-launch/common';
import * as tf from '@tensorflow/tfjs-core';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import {
  bindingPath,
  findTensorflowInstall,
  fusedOpsLibraryPath,
  nvidiaDriverPresent,
  quietLoaderPath,
  tensorflowLibraries,
  tfjsNodeDir,
  TFJS_CORE_GLOBAL,
  type TensorflowBuild,
  type TensorflowInstall,
} from './tensorflow-install.js';

import { markFusedOpsLibraryLoaded } from './tensorflow-fused-ops.js';
import { routeMatrixProductsToMatMul } from './tensorflow-matmul.js';

export { findTensorflowInstall, type TensorflowInstall } from './tensorflow-install.js';

/** Thread pools of libtensorflow; unset = TensorFlow's default (one thread per core each). */
export interface TensorflowThreadOptions {
  intraOpThreads?: number;
  interOpThreads?: number;
}

/** What was loaded, for start-up logs and `ner-launch env`. */
export interface TensorflowInstallInfo {
  dir: string;
  /** TF_Version() of the loaded library. */
  tensorflowVersion: string;
  build: TensorflowBuild;
  /** Whether TensorFlow placed its ops on a GPU (the CUDA build with a GPU visible). */
  usingGpu: boolean;
  /** Thread settings in effect (TF_NUM_INTRAOP_THREADS / TF_NUM_INTEROP_THREADS), if any. */
  intraOpThreads?: number;
  interOpThreads?: number;
}

interface TfjsBinding {
  TF_Version: string;
  isUsingGpuDevice(): boolean;
}

type BackendConstructor = new (binding: TfjsBinding, packageName: string) => tf.KernelBackend;

const require = createRequire(import.meta.url);
let loaded: TensorflowInstallInfo | undefined;

/** The error telling the user how to provision the backend. */
export function tensorflowMissingMessage(): string {
  return "the tensorflow backend is not set up: run 'ner-launch setup tensorflow' (CPU) or 'ner-launch setup tensorflow --gpu' (CUDA 12), or use --backend wasm";
}

function positiveInteger(name: string, value: number | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (!Number.isInteger(value) || value < 1)
    throw new UsageError(`${name} must be a positive integer, got ${value}`);
  return String(value);
}

/**
 * Environment libtensorflow reads once, when it loads: thread pools (honoured by its
 * process_util: TF_NUM_INTRAOP_THREADS / TF_NUM_INTEROP_THREADS) and log verbosity. Values
 * the user set already win over the defaults but not over explicit options.
 */
function prepareEnvironment(options: TensorflowThreadOptions): void {
  const intra = positiveInteger('intraOpThreads', options.intraOpThreads);
  const inter = positiveInteger('interOpThreads', options.interOpThreads);
  if (intra) {
    process.env.TF_NUM_INTRAOP_THREADS = intra;
    process.env.OMP_NUM_THREADS = intra;
  }
  if (inter) process.env.TF_NUM_INTEROP_THREADS = inter;
  // 2 = warnings and errors only (the lines printed while the library loads: see below).
  if (!process.env.TF_CPP_MIN_LOG_LEVEL) process.env.TF_CPP_MIN_LOG_LEVEL = '2';
}

interface QuietLoader {
  loadQuietly(paths: string[]): string | undefined;
  muteStderr(): number;
  restoreStderr(saved: number): void;
}

/**
 * Loads libtensorflow, then the binding. Unless TensorFlow's own log was asked for
 * (TF_CPP_MIN_LOG_LEVEL=0), the libraries load with stderr muted: their static initialisers
 * print two lines through absl that no setting hides. A CUDA build on a machine without an
 * NVIDIA driver also starts muted (its expected "failed call to cuInit" error; the caller
 * says it runs on the CPU). Installs made without the helper load noisily.
 */
/** The binding, and whether the fused-kernel library loaded beside libtensorflow. */
function loadBinding(install: TensorflowInstall): { binding: TfjsBinding; fusedOps: boolean } {
  const helperPath = quietLoaderPath(install.dir);
  const helper =
    process.env.TF_CPP_MIN_LOG_LEVEL !== '0' && existsSync(helperPath)
      ? (require(helperPath) as QuietLoader)
      : undefined;
  if (!helper)
    return { binding: require(bindingPath(install.dir)) as TfjsBinding, fusedOps: false };
  const error = helper.loadQuietly(tensorflowLibraries(install.dir));
  if (error) throw new Error(error);
  // The fused kernels register themselves into the libtensorflow just loaded. A failure here
  // (an install from before them, a library that does not load) only costs speed.
  const fusedOps = fusedOpsLibraryPath(install.dir);
  const fusedOpsLoaded = existsSync(fusedOps) && helper.loadQuietly([fusedOps]) === undefined;
  const muteStart =
    install.manifest.build === 'gpu' &&
    !nvidiaDriverPresent() &&
    typeof helper.muteStderr === 'function';
  const saved = muteStart ? helper.muteStderr() : -1;
  try {
    return {
      binding: require(bindingPath(install.dir)) as TfjsBinding,
      fusedOps: fusedOpsLoaded,
    };
  } finally {
    if (muteStart) helper.restoreStderr(saved);
  }
}

function threadSetting(name: string): number | undefined {
  const value = process.env[name];
  return value ? Number(value) : undefined;
}

/**
 * Loads libtensorflow from the cached install and registers the `tensorflow` backend (not
 * selected: `tf.setBackend('tensorflow')` does that). Thread options only take effect on the
 * first call in a process, since libtensorflow reads them when it creates its pools.
 */
export async function loadTensorflowBackend(
  options: TensorflowThreadOptions = {},
  install: TensorflowInstall | undefined = findTensorflowInstall(),
): Promise<TensorflowInstallInfo> {
  if (loaded) return loaded;
  if (!install) throw new OperationalError(tensorflowMissingMessage());
  // tfjs-node's kernels are written against one tfjs-core release: the two stay pinned together.
  if (tf.version_core !== install.manifest.tfjsNodeVersion)
    throw new OperationalError(
      `the tensorflow backend in ${install.dir} is built from tfjs-node ${install.manifest.tfjsNodeVersion}, but this checkout has @tensorflow/tfjs-core ${tf.version_core}; run npm ci, or ner-launch setup tensorflow for this version`,
    );
  prepareEnvironment(options);
  // The same module object the ESM import above wraps: one engine, one kernel registry.
  (globalThis as Record<string, unknown>)[TFJS_CORE_GLOBAL] = require('@tensorflow/tfjs-core');
  const packageDir = tfjsNodeDir(install.dir);
  let binding: TfjsBinding;
  try {
    const loadedBinding = loadBinding(install);
    binding = loadedBinding.binding;
    // The fused kernels are CPU kernels: where TensorFlow runs on a GPU, tfjs's composite ops
    // stay on the device instead of copying every LayerNorm/GELU/dropout input to the host.
    if (loadedBinding.fusedOps && !binding.isUsingGpuDevice()) markFusedOpsLibraryLoaded();
  } catch (error) {
    throw new OperationalError(
      `cannot load the TensorFlow binding in ${install.dir} (${(error as Error).message.split('\n')[0]}); run 'ner-launch setup tensorflow${install.manifest.build === 'gpu' ? ' --gpu' : ''}' again after removing that directory`,
      { cause: error },
    );
  }
  const { NodeJSKernelBackend } = require(join(packageDir, 'dist', 'nodejs_kernel_backend.js')) as {
    NodeJSKernelBackend: BackendConstructor;
  };
  require(join(packageDir, 'dist', 'register_all_kernels.js'));
  routeMatrixProductsToMatMul();
  if (!tf.findBackendFactory('tensorflow'))
    tf.registerBackend(
      'tensorflow',
      () => new NodeJSKernelBackend(binding, '@tensorflow/tfjs-node'),
      3,
    );
  loaded = {
    dir: install.dir,
    tensorflowVersion: binding.TF_Version,
    build: install.manifest.build,
    usingGpu: binding.isUsingGpuDevice(),
    intraOpThreads: threadSetting('TF_NUM_INTRAOP_THREADS'),
    interOpThreads: threadSetting('TF_NUM_INTEROP_THREADS'),
  };
  return loaded;
}
