/**
 * WebGPU through Dawn (npm `webgpu`): the GPU must be installed on `globalThis.navigator`
 * before `@tensorflow/tfjs-backend-webgpu` is imported, because that module registers the
 * backend only if `navigator.gpu` exists at import time.
 */
import { createRequire } from 'node:module';

import { selectWebgpuAdapter, type DawnModule } from './gpu/dawn-adapters.js';

const require = createRequire(import.meta.url);

interface GpuLike {
  requestAdapter(): Promise<unknown>;
}

let installedGpu: GpuLike | undefined;

async function installNavigatorGpu(allowSoftware: boolean): Promise<GpuLike | undefined> {
  if (installedGpu) return installedGpu;
  let dawn: DawnModule;
  try {
    dawn = require('webgpu') as DawnModule;
  } catch {
    return undefined;
  }
  // Pin this worker's GPU ourselves: Vulkan ignores CUDA_VISIBLE_DEVICES (gpu/adapter-selection.ts).
  const plan = await selectWebgpuAdapter(dawn, allowSoftware);
  // `auto` never runs on a CPU rasteriser (llvmpipe, SwiftShader): wasm is faster there.
  if (!plan.adapter && !allowSoftware) return undefined;
  const gpu = dawn.create(plan.flags) as GpuLike;
  Object.assign(globalThis, dawn.globals);
  Object.defineProperty(globalThis, 'navigator', {
    value: { gpu },
    configurable: true,
    writable: true,
  });
  installedGpu = gpu;
  return gpu;
}

/** True when a WebGPU adapter can be had on this machine. */
export async function probeWebgpuAdapter(allowSoftware = false): Promise<boolean> {
  const gpu = await installNavigatorGpu(allowSoftware);
  if (!gpu) return false;
  const adapter = await gpu.requestAdapter();
  return adapter !== null;
}

/** Makes `tf.setBackend('webgpu')` possible; throws when no adapter exists. */
export async function setupWebgpu(): Promise<void> {
  if (!(await probeWebgpuAdapter(true)))
    throw new Error(
      '--backend webgpu: no WebGPU adapter found (is a GPU and its Vulkan driver present?)',
    );
  await import('@tensorflow/tfjs-backend-webgpu');
}
