/**
 * Where `ner-launch setup tensorflow` keeps libtensorflow and the tfjs-node binding built
 * against it, shared by every checkout: `$NER_LAUNCH_CACHE/tensorflow/<key>/` (default
 * `~/.cache/ner-launch`). A directory there is complete exactly when its `manifest.json`
 * exists: setup builds in a temporary sibling and renames it into place at the end.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** tfjs-node release whose binding and kernels the setup builds; tfjs-core is pinned to it. */
export const TFJS_NODE_VERSION = '4.22.0';
/** N-API version the binding is built for (tfjs-node's newest; stable across Node releases). */
export const NAPI_VERSION = 8;
/** TensorFlow release fetched from PyPI when no installed one is used. */
export const DEFAULT_TENSORFLOW_VERSION = '2.21.0';

/** The global that the install's `@tensorflow/tfjs(-core)` shims return (set by the loader). */
export const TFJS_CORE_GLOBAL = '__nerLaunchTfjsCore';

/** CPU-only libtensorflow, or the CUDA build with its nvidia libraries beside it. */
export type TensorflowBuild = 'cpu' | 'gpu';

/** What setup records in `manifest.json` of a finished install. */
export interface TensorflowManifest {
  tensorflowVersion: string;
  build: TensorflowBuild;
  tfjsNodeVersion: string;
  napiVersion: number;
  platform: string;
  arch: string;
  /** Where the libraries came from: an installed Python TensorFlow, pip, or a wheel file. */
  source: string;
  createdAt: string;
}

/** A finished install found in the cache. */
export interface TensorflowInstall {
  dir: string;
  manifest: TensorflowManifest;
}

/** The cache root: $NER_LAUNCH_CACHE, else $XDG_CACHE_HOME/ner-launch, else ~/.cache/ner-launch. */
export function nerLaunchCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.NER_LAUNCH_CACHE) return env.NER_LAUNCH_CACHE;
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'ner-launch');
}

/** The directory holding every TensorFlow install. */
export function tensorflowCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(nerLaunchCacheDir(env), 'tensorflow');
}

/** The name of one install's directory: everything the built binding depends on. */
export function tensorflowInstallKey(tensorflowVersion: string, build: TensorflowBuild): string {
  return `${tensorflowVersion}-${build}-tfjs-node-${TFJS_NODE_VERSION}-napi${NAPI_VERSION}-${process.platform}-${process.arch}`;
}

/** The tfjs-node package inside an install (binding, kernels, deps/lib). */
export function tfjsNodeDir(installDir: string): string {
  return join(installDir, 'node_modules', '@tensorflow', 'tfjs-node');
}

/** The built binding inside an install. */
export function bindingPath(installDir: string): string {
  return join(tfjsNodeDir(installDir), 'lib', `napi-v${NAPI_VERSION}`, 'tfjs_binding.node');
}

/** The helper that loads libtensorflow with its start-up log lines muted (see quiet-load.c). */
export function quietLoaderPath(installDir: string): string {
  return join(tfjsNodeDir(installDir), 'lib', `napi-v${NAPI_VERSION}`, 'quiet_load.node');
}

/**
 * The fused CPU kernels (tensorflow-fused-ops.cc) built into an install; loaded after
 * libtensorflow. Versioned by name: a new kernel set is a new file, and an install without the
 * current one is rebuilt by setup (the trainer falls back to tfjs's composite ops meanwhile).
 */
export function fusedOpsLibraryPath(installDir: string): string {
  return join(tfjsNodeDir(installDir), 'lib', `napi-v${NAPI_VERSION}`, 'ner_fused_ops_v2.so');
}

/** The source setup compiles into fusedOpsLibraryPath. */
export const FUSED_OPS_SOURCE = fileURLToPath(
  new URL('./tensorflow-fused-ops.cc', import.meta.url),
);

/** libtensorflow's two libraries in an install, in load order. */
export function tensorflowLibraries(installDir: string): string[] {
  const lib = join(tfjsNodeDir(installDir), 'deps', 'lib');
  return [join(lib, 'libtensorflow_framework.so.2'), join(lib, 'libtensorflow_cc.so.2')];
}

/** Reads the manifest of `dir`, or undefined when the install is absent or unfinished. */
export function readTensorflowInstall(dir: string): TensorflowInstall | undefined {
  const path = join(dir, 'manifest.json');
  if (!existsSync(path)) return undefined;
  try {
    return { dir, manifest: JSON.parse(readFileSync(path, 'utf8')) as TensorflowManifest };
  } catch {
    return undefined;
  }
}

function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** True where an NVIDIA driver is present, so a CUDA build is worth preferring. */
export function nvidiaDriverPresent(): boolean {
  return existsSync('/dev/nvidiactl') || existsSync('/proc/driver/nvidia/version');
}

/**
 * The install the `tensorflow` backend uses: `$NER_LAUNCH_TENSORFLOW` (an install directory)
 * when set, else the newest usable one in the cache, the CUDA build first on machines with an
 * NVIDIA driver and the CPU build first elsewhere.
 */
export function findTensorflowInstall(
  env: NodeJS.ProcessEnv = process.env,
): TensorflowInstall | undefined {
  if (env.NER_LAUNCH_TENSORFLOW) return readTensorflowInstall(env.NER_LAUNCH_TENSORFLOW);
  const root = tensorflowCacheDir(env);
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return undefined;
  }
  const preferred: TensorflowBuild = nvidiaDriverPresent() ? 'gpu' : 'cpu';
  const usable = names
    .filter((n) => !n.startsWith('.'))
    .map((n) => readTensorflowInstall(join(root, n)))
    .filter(
      (i): i is TensorflowInstall =>
        i !== undefined &&
        i.manifest.tfjsNodeVersion === TFJS_NODE_VERSION &&
        i.manifest.napiVersion === NAPI_VERSION &&
        i.manifest.platform === process.platform &&
        i.manifest.arch === process.arch &&
        existsSync(bindingPath(i.dir)),
    );
  usable.sort(
    (a, b) =>
      Number(b.manifest.build === preferred) - Number(a.manifest.build === preferred) ||
      compareVersions(b.manifest.tensorflowVersion, a.manifest.tensorflowVersion),
  );
  return usable[0];
}
