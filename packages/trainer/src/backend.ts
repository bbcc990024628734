/**
 * Chooses and initialises the TensorFlow.js backend. The model code uses tfjs ops only, so the
 * backend decides where it runs: `wasm` (embedded CPU default), `tensorflow` (libtensorflow
 * through tfjs-node's binding, after `ner-launch setup tensorflow`) or `cpu` (tfjs's pure-JS
 * reference kernels). What differs between them lives in their profiles (backends/*.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import { log, OperationalError } from '@ner-launch/common';
import { resolveAutoBackend, type BackendName, type ConcreteBackend } from './backends/names.js';
import { backendProfile, type BackendProfile } from './backends/profile.js';
import { findTensorflowInstall, loadTensorflowBackend } from './backends/tensorflow-loader.js';

export { BACKEND_NAMES, type BackendName } from './backends/names.js';

let gradientsRegistered = false;

/** Registers tfjs-core's gradients (bundled at install time, see tools/build.mjs). */
export async function registerGradients(): Promise<void> {
  if (gradientsRegistered) return;
  try {
    await import('../generated/tfjs-gradients.mjs' as string);
  } catch (error) {
    throw new OperationalError(
      `tfjs gradient registrations are missing (packages/trainer/generated/tfjs-gradients.mjs); run \`npm install\` (its prepare step builds them): ${String(error)}`,
      { cause: error },
    );
  }
  gradientsRegistered = true;
}

/** Settings of the math library behind a backend. */
export interface BackendOptions {
  /** Threads of its intra- and inter-op pools (tensorflow; wasm always runs one). */
  threads?: number;
}

/** Initialises `requested` (resolving `auto`) and returns the profile of the backend in use. */
export async function initBackendProfile(
  requested: BackendName = 'auto',
  options: BackendOptions = {},
): Promise<BackendProfile> {
  await registerGradients();
  const chosen: ConcreteBackend =
    requested === 'auto' ? resolveAutoBackend(findTensorflowInstall() !== undefined) : requested;
  switch (chosen) {
    case 'wasm':
      await import('@tensorflow/tfjs-backend-wasm');
      break;
    case 'cpu':
      await import('@tensorflow/tfjs-backend-cpu');
      break;
    case 'tensorflow': {
      // libtensorflow reads its thread-pool sizes when it starts: the first load decides.
      const info = await loadTensorflowBackend({
        intraOpThreads: options.threads,
        interOpThreads: options.threads,
      });
      if (info.build === 'gpu' && !info.usingGpu)
        log.warn(
          `tensorflow: CUDA build of TensorFlow ${info.tensorflowVersion} sees no GPU; running on the CPU`,
        );
      break;
    }
  }
  const ok = await tf.setBackend(chosen);
  if (!ok) throw new Error(`tfjs backend '${chosen}' failed to initialise`);
  await tf.ready();
  if (chosen === 'wasm') {
    const { installWasmBatchMatMul } = await import('./kernels/wasm-batch-matmul.js');
    installWasmBatchMatMul();
  }
  return backendProfile(chosen);
}

/** Initialises `requested` (resolving `auto`) and returns the backend actually in use. */
export async function initBackend(
  requested: BackendName = 'auto',
  options: BackendOptions = {},
): Promise<ConcreteBackend> {
  return (await initBackendProfile(requested, options)).name;
}
