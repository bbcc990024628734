/**
 * `ner-launch setup tensorflow`: provisions libtensorflow and builds tfjs-node's binding
 * against it into the shared cache (see @ner-launch/trainer's tensorflow-install.ts for the
 * layout). Everything is built in a temporary sibling directory and renamed into place at the
 * end, so an interrupted or failed run leaves no half-built install behind.
 */
import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  renameSync,
  rmSync,
  statfsSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { makeDirectoriesSync } from '@ner-launch/common';
import {
  NAPI_VERSION,
  TFJS_NODE_VERSION,
  bindingPath,
  fusedOpsLibraryPath,
  quietLoaderPath,
  readTensorflowInstall,
  tensorflowLibraries,
  tensorflowCacheDir,
  tensorflowInstallKey,
  tfjsNodeDir,
  type TensorflowBuild,
  type TensorflowManifest,
} from '@ner-launch/trainer/tensorflow-install';
import {
  buildBinding,
  buildFusedOps,
  buildQuietLoader,
  checkCompiler,
  nodeGypScript,
  nodeHeadersDir,
} from './binding-build.js';
import { probePython } from './python-env.js';
import { outputTail, runCommand, stopRunningCommands } from './run-command.js';
import { SetupError } from './setup-error.js';
import { collectTensorflowFiles } from './tensorflow-files.js';
import { chooseTensorflowSource } from './tensorflow-source.js';
import { fetchTfjsNodePackage } from './tfjs-node-package.js';

/** Options of `ner-launch setup tensorflow`. */
export interface TensorflowSetupOptions {
  gpu: boolean;
  python?: string;
  wheels: string[];
  env?: NodeJS.ProcessEnv;
  /** Receives one line per step. */
  progress: (line: string) => void;
  /** Let pip draw its own progress bar (on a terminal). */
  showToolProgress?: boolean;
}

/** What a run did. */
export interface TensorflowSetupResult {
  status: 'already-set-up' | 'installed';
  dir: string;
  manifest: TensorflowManifest;
}

// Free space needed while building: the wheels plus the unpacked libraries, with room to spare.
const NEEDED_BYTES: Record<TensorflowBuild, number> = { cpu: 2.5e9, gpu: 10e9 };

function checkFreeSpace(dir: string, build: TensorflowBuild): void {
  const stats = statfsSync(dir);
  const free = stats.bavail * stats.bsize;
  if (free < NEEDED_BYTES[build])
    throw new SetupError(
      `not enough free disk space in ${dir}: ${(free / 1e9).toFixed(1)} GB free, about ${NEEDED_BYTES[build] / 1e9} GB needed; free some or set NER_LAUNCH_CACHE to a directory on another disk`,
    );
}

const TEMP_PREFIX = '.tmp-';

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes temporary directories of earlier runs that were killed before they could. */
function removeAbandonedTemps(root: string): void {
  for (const name of readdirSync(root)) {
    if (!name.startsWith(TEMP_PREFIX)) continue;
    const pid = Number(name.slice(TEMP_PREFIX.length).split('-')[0]);
    if (Number.isInteger(pid) && !processAlive(pid))
      rmSync(join(root, name), { recursive: true, force: true });
  }
}

/** Loads the new install in a child process as the trainer will; returns TF_Version(). */
async function checkInstallLoads(installDir: string, expected: string): Promise<string> {
  const binding = bindingPath(installDir);
  const script = [
    `const error = require(${JSON.stringify(quietLoaderPath(installDir))}).loadQuietly(${JSON.stringify([...tensorflowLibraries(installDir), fusedOpsLibraryPath(installDir)])});`,
    'if (error) throw new Error(error);',
    `process.stdout.write('TF_VERSION=' + require(${JSON.stringify(binding)}).TF_Version);`,
  ].join('\n');
  const result = await runCommand(process.execPath, ['-e', script], {
    env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2' },
  });
  const version = /TF_VERSION=(\S+)/.exec(result.output)?.[1];
  if (result.status !== 0 || !version)
    throw new SetupError(
      `the built binding does not load (${binding}); TensorFlow ${expected} may need a newer glibc/libstdc++ than this system has`,
      outputTail(result.output),
    );
  return version;
}

/** Runs the set-up; idempotent (an existing install is reported, not rebuilt). */
export async function setupTensorflow(
  options: TensorflowSetupOptions,
): Promise<TensorflowSetupResult> {
  const env = options.env ?? process.env;
  const build: TensorflowBuild = options.gpu ? 'gpu' : 'cpu';
  const python = await probePython(options.python);
  const source = chooseTensorflowSource(python, options.gpu, options.wheels);
  const root = tensorflowCacheDir(env);
  const finalDir = join(root, tensorflowInstallKey(source.version, build));
  const existing = readTensorflowInstall(finalDir);
  if (existing && existsSync(fusedOpsLibraryPath(finalDir)))
    return { status: 'already-set-up', dir: finalDir, manifest: existing.manifest };
  if (existing)
    options.progress(`${finalDir} predates the fused kernels of this version: rebuilding it`);
  // Setup renames a finished directory into place, so one without a manifest is not ours.
  if (!existing && existsSync(finalDir))
    throw new SetupError(
      `${finalDir} exists but is not a finished install (no manifest.json); remove it and run the setup again`,
    );

  // Everything that can be checked before downloading, so a missing tool fails in seconds.
  await checkCompiler(env);
  nodeHeadersDir(env);
  nodeGypScript(env);
  try {
    makeDirectoriesSync(root);
  } catch (error) {
    throw new SetupError(
      `cannot create the cache directory ${root} (${(error as Error).message}); set NER_LAUNCH_CACHE to a writable directory`,
    );
  }
  checkFreeSpace(root, build);
  removeAbandonedTemps(root);

  const temp = mkdtempSync(join(root, `${TEMP_PREFIX}${process.pid}-`));
  const removeTemp = (): void => rmSync(temp, { recursive: true, force: true });
  // Interrupted: stop the tool writing into the temporary directory, remove it, then die of
  // the same signal.
  let interrupted: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    interrupted = signal;
    void stopRunningCommands().then(() => {
      removeTemp();
      process.kill(process.pid, signal);
    });
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const steps = 4;
  try {
    const packageDir = tfjsNodeDir(temp);
    options.progress(`[1/${steps}] TensorFlow ${source.version} (${build}): ${source.description}`);
    const files = await source.files(join(temp, 'scratch'), options.showToolProgress ?? false);
    await collectTensorflowFiles(python.executable, files, join(packageDir, 'deps'), options.gpu);
    rmSync(join(temp, 'scratch'), { recursive: true, force: true });
    options.progress(`[2/${steps}] fetching tfjs-node ${TFJS_NODE_VERSION} (npm pack)`);
    await fetchTfjsNodePackage(join(temp, 'node_modules'), join(temp, 'scratch'));
    rmSync(join(temp, 'scratch'), { recursive: true, force: true });
    options.progress(`[3/${steps}] building the tfjs-node binding (node-gyp)`);
    await buildBinding(packageDir, python.executable);
    await buildQuietLoader(quietLoaderPath(temp), env);
    await buildFusedOps(packageDir, fusedOpsLibraryPath(temp), env);
    options.progress(`[4/${steps}] checking that the binding loads`);
    const loadedVersion = await checkInstallLoads(temp, source.version);
    const manifest: TensorflowManifest = {
      tensorflowVersion: loadedVersion,
      build,
      tfjsNodeVersion: TFJS_NODE_VERSION,
      napiVersion: NAPI_VERSION,
      platform: process.platform,
      arch: process.arch,
      source: source.description,
      createdAt: new Date().toISOString(),
    };
    writeFileSync(join(temp, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    // mkdtemp made it private; the install is read by every checkout (and user) sharing the cache.
    chmodSync(temp, 0o755);
    try {
      // An outdated install makes way only now that its replacement is complete.
      if (existing) {
        const outdated = `${temp}-outdated`;
        renameSync(finalDir, outdated);
        renameSync(temp, finalDir);
        rmSync(outdated, { recursive: true, force: true });
      } else renameSync(temp, finalDir);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const raced = readTensorflowInstall(finalDir);
      // Another run finished the same install first: use theirs.
      if ((code === 'ENOTEMPTY' || code === 'EEXIST') && raced) {
        removeTemp();
        return { status: 'already-set-up', dir: finalDir, manifest: raced.manifest };
      }
      throw error;
    }
    return { status: 'installed', dir: finalDir, manifest };
  } catch (error) {
    removeTemp();
    if (interrupted)
      throw new SetupError(`interrupted (${interrupted}); the partial build was removed`);
    if ((error as NodeJS.ErrnoException).code === 'ENOSPC')
      throw new SetupError(
        `disk full while setting up TensorFlow in ${root}; free space or set NER_LAUNCH_CACHE to another disk`,
      );
    throw error;
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
}
