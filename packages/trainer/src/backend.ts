/**
 * Chooses and initialises the TensorFlow.js backend. The model code uses tfjs ops only, so the
 * backend decides where it runs: `wasm` (embedded CPU default), `tensorflow` (libtensorflow
 * through tfjs-node's binding, after `ner-launch setup tensorflow`) or `cpu` (tfjs's pure-JS
 * reference kernels). What differs between them lives in their profiles (backends/*.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import { createRequire } from 'node:module';
import { backendProfile, type BackendProfile, type ConcreteBackend } from './backends/profile.js';

/** `--backend` values: a concrete backend, or `auto`. */
export type BackendName = 'auto' | ConcreteBackend;
export const BACKEND_NAMES: readonly BackendName[] = ['auto', 'wasm', 'tensorflow', 'cpu'];

const require = createRequire(import.meta.url);
let gradientsRegistered = false;

/** Registers tfjs-core's gradients (bundled at install time, see tools/build.mjs). */
export async function registerGradients(): Promise<void> {
  if (gradientsRegistered) return;
  try {
    await import('../generated/tfjs-gradients.mjs' as string);
  } catch (error) {
    throw new Error(
      `tfjs gradient registrations are missing (packages/trainer/generated/tfjs-gradients.mjs); run \`npm install\` (its prepare step builds them): ${String(error)}`,
      { cause: error },
    );
  }
  gradientsRegistered = true;
}

/** The tfjs-node package installed here, if any (GPU build first). */
export function installedTensorflowPackage(): string | undefined {
  for (const name of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    try {
      require.resolve(name);
      return name;
    } catch {
      // not installed: optional by design
    }
  }
  return undefined;
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
    requested === 'auto' ? (installedTensorflowPackage() ? 'tensorflow' : 'wasm') : requested;
  switch (chosen) {
    case 'wasm':
      await import('@tensorflow/tfjs-backend-wasm');
      break;
    case 'cpu':
      await import('@tensorflow/tfjs-backend-cpu');
      break;
    case 'tensorflow': {
      const name = installedTensorflowPackage();
      if (!name)
        throw new Error(
          '--backend tensorflow needs libtensorflow: run `ner-launch setup tensorflow` once (or use --backend wasm)',
        );
      // libtensorflow reads its thread-pool sizes from the environment when it starts.
      if (options.threads !== undefined) {
        process.env.TF_NUM_INTRAOP_THREADS = String(options.threads);
        process.env.TF_NUM_INTEROP_THREADS = String(options.threads);
        process.env.OMP_NUM_THREADS = String(options.threads);
      }
      await import(name);
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
