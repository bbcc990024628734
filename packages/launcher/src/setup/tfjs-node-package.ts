/**
 * Fetches tfjs-node (binding sources and kernels) and google-protobuf (its dist/proto/api_pb.js
 * needs it) with `npm pack`, which runs no install script, and unpacks them into an install's
 * `node_modules/`. Beside them go `@tensorflow/tfjs` and `@tensorflow/tfjs-core` shims that
 * return the tfjs-core instance the trainer's loader puts on globalThis.
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TFJS_CORE_GLOBAL, TFJS_NODE_VERSION } from '@ner-launch/trainer/tensorflow-install';
import { outputTail, runCommand } from './run-command.js';
import { SetupError } from './setup-error.js';

/** google-protobuf release unpacked beside tfjs-node (it asks for ^3.9.2). */
export const GOOGLE_PROTOBUF_VERSION = '3.21.4';

async function unpack(tarball: string, into: string): Promise<void> {
  mkdirSync(into, { recursive: true });
  const result = await runCommand('tar', ['-xzf', tarball, '-C', into, '--strip-components=1']);
  if (result.status !== 0)
    throw new SetupError(`cannot unpack ${tarball} (tar)`, outputTail(result.output));
}

function writeShim(nodeModules: string, name: string): void {
  const dir = join(nodeModules, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'package.json'),
    `${JSON.stringify({ name, version: TFJS_NODE_VERSION, main: 'index.js' }, null, 2)}\n`,
  );
  writeFileSync(
    join(dir, 'index.js'),
    `// ner-launch: tfjs-node's kernels use the tfjs-core instance of the process that loads them.\n` +
      `const core = globalThis.${TFJS_CORE_GLOBAL};\n` +
      `if (!core) throw new Error('load this through ner-launch (the tensorflow backend loader)');\n` +
      `module.exports = core;\n`,
  );
}

/** Puts tfjs-node, google-protobuf and the tfjs shims under `nodeModules`. */
export async function fetchTfjsNodePackage(nodeModules: string, scratch: string): Promise<void> {
  mkdirSync(scratch, { recursive: true });
  const specs = [
    `@tensorflow/tfjs-node@${TFJS_NODE_VERSION}`,
    `google-protobuf@${GOOGLE_PROTOBUF_VERSION}`,
  ];
  // Run from the scratch directory: in a checkout, npm would otherwise read its workspace.
  const packed = await runCommand(
    'npm',
    ['pack', '--silent', '--pack-destination', scratch, ...specs],
    { cwd: scratch },
  );
  if (packed.spawnError)
    throw new SetupError('npm not found on PATH: install Node.js with npm (it fetches tfjs-node)');
  if (packed.status !== 0)
    throw new SetupError(
      `npm pack ${specs.join(' ')} failed (is the npm registry reachable?)`,
      outputTail(packed.output),
    );
  const tarballs = readdirSync(scratch).filter((f) => f.endsWith('.tgz'));
  const find = (prefix: string): string => {
    const file = tarballs.find((f) => f.startsWith(prefix));
    if (!file) throw new SetupError(`npm pack left no ${prefix}*.tgz in ${scratch}`);
    return join(scratch, file);
  };
  await unpack(find('tensorflow-tfjs-node-'), join(nodeModules, '@tensorflow', 'tfjs-node'));
  await unpack(find('google-protobuf-'), join(nodeModules, 'google-protobuf'));
  writeShim(nodeModules, '@tensorflow/tfjs');
  writeShim(nodeModules, '@tensorflow/tfjs-core');
}
