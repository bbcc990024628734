/**
 * Chooses and initialises the TensorFlow.js backend. The model code uses tfjs ops only, so the
 * backend decides where it runs: `wasm` (embedded CPU default), `webgpu` (Dawn through the npm
 * `webgpu` package), `tensorflow` (libtensorflow, after `ner-launch setup tensorflow`) or `cpu`
 * (tfjs's pure-JS reference kernels).
 */
import * as tf from '@tensorflow/tfjs-core';
import { log } from '@ner-launch/worker';
import { findTensorflowInstall, loadTensorflowBackend } from './backends/tensorflow-loader.js';

export type BackendName = 'auto' | 'wasm' | 'webgpu' | 'tensorflow' | 'cpu';
export const BACKEND_NAMES: readonly BackendName[] = [
  'auto',
  'wasm',
  'webgpu',
  'tensorflow',
  'cpu',
];

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

/** The directory of the TensorFlow install `ner-launch setup tensorflow` made, if any. */
export function installedTensorflowPackage(): string | undefined {
  return findTensorflowInstall()?.dir;
}

async function tryWebgpu(): Promise<boolean> {
  const { probeWebgpuAdapter } = await import('./webgpu-setup.js');
  return probeWebgpuAdapter();
}

/** Initialises `requested` (resolving `auto`) and returns the backend actually in use. */
export async function initBackend(
  requested: BackendName = 'auto',
): Promise<Exclude<BackendName, 'auto'>> {
  await registerGradients();
  let chosen: Exclude<BackendName, 'auto'>;
  if (requested === 'auto') {
    if (installedTensorflowPackage()) chosen = 'tensorflow';
    else if (await tryWebgpu().catch(() => false)) chosen = 'webgpu';
    else chosen = 'wasm';
  } else {
    chosen = requested;
  }
  switch (chosen) {
    case 'wasm':
      await import('@tensorflow/tfjs-backend-wasm');
      break;
    case 'cpu':
      await import('@tensorflow/tfjs-backend-cpu');
      break;
    case 'tensorflow': {
      const info = await loadTensorflowBackend();
      if (info.build === 'gpu' && !info.usingGpu)
        log.warn(
          `tensorflow: CUDA build of TensorFlow ${info.tensorflowVersion} sees no GPU; running on the CPU`,
        );
      break;
    }
    case 'webgpu': {
      const { setupWebgpu } = await import('./webgpu-setup.js');
      await setupWebgpu();
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
  return chosen;
}
