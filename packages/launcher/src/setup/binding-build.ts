/**
 * Compiles tfjs-node's native binding against the libtensorflow in its `deps/` with npm's own
 * node-gyp and the local Node.js headers (node-gyp cannot download headers offline).
 */
import { existsSync, realpathSync, rmSync } from 'node:fs';
import { cpus } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FUSED_OPS_SOURCE, NAPI_VERSION } from '@ner-launch/trainer/tensorflow-install';
import { outputTail, runCommand } from './run-command.js';
import { SetupError } from './setup-error.js';

function onPath(program: string, env: NodeJS.ProcessEnv): string | undefined {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, program);
    if (dir && existsSync(candidate)) return candidate;
  }
  return undefined;
}

/** The directory holding `include/node/node_api.h`: npm_config_nodedir, else Node's prefix. */
export function nodeHeadersDir(env: NodeJS.ProcessEnv = process.env): string {
  const dir = env.npm_config_nodedir || dirname(dirname(process.execPath));
  if (!existsSync(join(dir, 'include', 'node', 'node_api.h')))
    throw new SetupError(
      `Node.js headers not found (${join(dir, 'include', 'node', 'node_api.h')}): install Node.js with its headers (the nodejs.org tarball, NodeSource's nodejs, or your distribution's libnode-dev), or set npm_config_nodedir to a Node.js headers directory`,
    );
  return dir;
}

/** node-gyp's script: the one npm bundles, else a node-gyp on PATH. */
export function nodeGypScript(env: NodeJS.ProcessEnv = process.env): string {
  const candidates: string[] = [];
  if (env.npm_config_node_gyp) candidates.push(env.npm_config_node_gyp);
  const npm = onPath('npm', env);
  if (npm) {
    // npm is a link to <npm>/bin/npm-cli.js; node-gyp sits in <npm>/node_modules.
    candidates.push(
      join(dirname(dirname(realpathSync(npm))), 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
    );
  }
  candidates.push(
    join(
      dirname(dirname(process.execPath)),
      'lib',
      'node_modules',
      'npm',
      'node_modules',
      'node-gyp',
      'bin',
      'node-gyp.js',
    ),
  );
  const gyp = onPath('node-gyp', env);
  if (gyp) candidates.push(realpathSync(gyp));
  const found = candidates.find((c) => existsSync(c));
  if (!found)
    throw new SetupError(
      'node-gyp not found (npm ships it): install npm, or npm install -g node-gyp',
    );
  return found;
}

/** Checks that a C++ compiler and make are installed. */
export async function checkCompiler(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const cxx = env.CXX || 'g++';
  const compiler = await runCommand(cxx, ['--version']);
  if (compiler.spawnError || compiler.status !== 0)
    throw new SetupError(
      `no C++ compiler (${cxx}) found: install build-essential (Debian/Ubuntu) or gcc-c++ and make (Fedora/RHEL), or set CXX`,
    );
  const make = await runCommand('make', ['--version']);
  if (make.spawnError || make.status !== 0)
    throw new SetupError('make not found: install make (Debian/Ubuntu: build-essential)');
}

/** Builds `<packageDir>/lib/napi-v8/tfjs_binding.node` and removes the build tree. */
export async function buildBinding(packageDir: string, python: string): Promise<string> {
  const moduleDir = join(packageDir, 'lib', `napi-v${NAPI_VERSION}`);
  const result = await runCommand(
    process.execPath,
    [
      nodeGypScript(),
      'rebuild',
      `--nodedir=${nodeHeadersDir()}`,
      `--python=${python}`,
      `-j`,
      String(Math.max(1, cpus().length)),
      `--napi_build_version=${NAPI_VERSION}`,
      '--module_name=tfjs_binding',
      `--module_path=${moduleDir}`,
    ],
    { cwd: packageDir },
  );
  const binding = join(moduleDir, 'tfjs_binding.node');
  if (result.status !== 0 || !existsSync(binding))
    throw new SetupError(
      `building the tfjs-node binding failed (node-gyp in ${packageDir}); the compiler output is above`,
      outputTail(result.output, 30),
    );
  rmSync(join(packageDir, 'build'), { recursive: true, force: true });
  return binding;
}

/**
 * Compiles quiet-load.c (libtensorflow loaded with its two start-up log lines muted) into
 * `output`, with the same compiler and Node.js headers as the binding.
 */
export async function buildQuietLoader(
  output: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<void> {
  const source = fileURLToPath(new URL('./quiet-load.c', import.meta.url));
  const result = await runCommand(env.CXX || 'g++', [
    '-x',
    'c',
    '-shared',
    '-fPIC',
    '-O2',
    `-DNAPI_VERSION=${NAPI_VERSION}`,
    `-I${join(nodeHeadersDir(env), 'include', 'node')}`,
    source,
    '-o',
    output,
    '-ldl',
  ]);
  if (result.status !== 0)
    throw new SetupError(`compiling ${source} failed`, outputTail(result.output));
}

/**
 * Compiles the trainer's fused CPU kernels (tensorflow-fused-ops.cc) against the install's
 * TensorFlow C headers into `output`. Left unlinked: libtensorflow, loaded first with
 * RTLD_GLOBAL, provides the TF_* symbols. -ffp-contract=off keeps the kernels' float32
 * operation order (see the source).
 */
export async function buildFusedOps(
  packageDir: string,
  output: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<void> {
  const result = await runCommand(env.CXX || 'g++', [
    '-x',
    'c++',
    '-std=c++17',
    '-shared',
    '-fPIC',
    '-O3',
    '-ffp-contract=off',
    '-fno-math-errno',
    `-I${join(packageDir, 'deps', 'include')}`,
    FUSED_OPS_SOURCE,
    '-o',
    output,
    '-lpthread',
  ]);
  if (result.status !== 0)
    throw new SetupError(`compiling ${FUSED_OPS_SOURCE} failed`, outputTail(result.output));
}
