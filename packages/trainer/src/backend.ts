/**
 * Chooses and initialises the TensorFlow.js backend. The model code uses tfjs ops only, so the
 * backend decides where it runs: `wasm` (embedded CPU default), `webgpu` (Dawn through the npm
 * `webgpu` package), `tensorflow` (`@tensorflow/tfjs-node(-gpu)` when installed) or `cpu`
 * (tfjs's pure-JS reference kernels).
 */
import * as tf from '@tensorflow/tfjs-core';
import { createRequire } from 'node:module';

export type BackendName = 'auto' | 'wasm' | 'webgpu' | 'tensorflow' | 'cpu';
export const BACKEND_NAMES: readonly BackendName[] = [
  'auto',
  'wasm',
  'webgpu',
  'tensorflow',
  'cpu',
];

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
      const name = installedTensorflowPackage();
      if (!name)
        throw new Error(
          '--backend tensorflow needs @tensorflow/tfjs-node (CPU) or @tensorflow/tfjs-node-gpu (CUDA 11.2 + cuDNN 8) installed; use --backend wasm or webgpu otherwise',
        );
      await import(name);
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
