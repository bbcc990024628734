/**
 * WebGPU through Dawn (npm `webgpu`): the GPU must be installed on `globalThis.navigator`
 * before `@tensorflow/tfjs-backend-webgpu` is imported, because that module registers the
 * backend only if `navigator.gpu` exists at import time.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

interface GpuLike {
  requestAdapter(): Promise<unknown>;
}

interface DawnModule {
  create(flags: string[]): GpuLike;
  globals: Record<string, unknown>;
}

let installedGpu: GpuLike | undefined;

function installNavigatorGpu(): GpuLike | undefined {
  if (installedGpu) return installedGpu;
  let dawn: DawnModule;
  try {
    dawn = require('webgpu') as DawnModule;
  } catch {
    return undefined;
  }
  const gpu = dawn.create(['enable-dawn-features=allow_unsafe_apis']);
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
export async function probeWebgpuAdapter(): Promise<boolean> {
  const gpu = installNavigatorGpu();
  if (!gpu) return false;
  const adapter = await gpu.requestAdapter();
  return adapter !== null;
}

/** Makes `tf.setBackend('webgpu')` possible; throws when no adapter exists. */
export async function setupWebgpu(): Promise<void> {
  if (!(await probeWebgpuAdapter()))
    throw new Error(
      '--backend webgpu: no WebGPU adapter found (is a GPU and its Vulkan driver present?)',
    );
  await import('@tensorflow/tfjs-backend-webgpu');
}
