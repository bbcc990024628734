/**
 * Copies what the tfjs-node binding needs out of TensorFlow wheels or an installed
 * site-packages into the package's `deps/`: `lib/` (libtensorflow_cc.so.2,
 * libtensorflow_framework.so.2), `include/` (the C API headers) and, for the CUDA build,
 * `nvidia/<pkg>/lib/` (found by libtensorflow through its RUNPATH `$ORIGIN/../nvidia/<pkg>/lib`).
 * Python's zipfile streams the wheels (the library alone is 0.8-1.1 GB).
 */
import { existsSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { outputTail, runCommand } from './run-command.js';
import { SetupError } from './setup-error.js';

/** Where the files come from: wheel files, or the site-packages of an installed TensorFlow. */
export type TensorflowFileSource = { wheels: string[] } | { sitePackages: string };

/** nvidia-* packages whose libraries TensorFlow must load to register a GPU. */
export const REQUIRED_NVIDIA_PACKAGES = [
  'cuda_runtime',
  'cublas',
  'cufft',
  'cusolver',
  'cusparse',
  'cudnn',
] as const;

// Exit 3 = disk full, 4 = a file that is not a zip (wheel).
const COLLECT = String.raw`
import errno, json, os, re, shutil, sys, zipfile
spec = json.loads(sys.argv[1]); dest = spec["dest"]; gpu = spec["gpu"]
rules = [
    (re.compile(r"^tensorflow/(libtensorflow_cc\.so\.2|libtensorflow_framework\.so\.2)$"), r"lib/\1"),
    (re.compile(r"^tensorflow/include/(tensorflow/c/.+|tensorflow/core/platform/ctstring[^/]*\.h|tsl/platform/ctstring[^/]*\.h|tsl/platform/platform\.h|tensorflow/core/common_runtime/next_pluggable_device/c/[^/]+\.h|xla/tsl/c/[^/]+)$"), r"include/\1"),
]
if gpu:
    rules.append((re.compile(r"^(nvidia/[^/]+/lib/[^/]+)$"), r"\1"))
def target(name):
    for pattern, repl in rules:
        if pattern.match(name):
            return os.path.join(dest, pattern.sub(repl, name))
    return None
count = 0
try:
    for wheel in spec.get("wheels", []):
        try:
            archive = zipfile.ZipFile(wheel)
        except (zipfile.BadZipFile, OSError) as e:
            print(f"{wheel}: {e}", file=sys.stderr); sys.exit(4)
        with archive:
            for info in archive.infolist():
                out = None if info.is_dir() else target(info.filename)
                if out:
                    os.makedirs(os.path.dirname(out), exist_ok=True)
                    with archive.open(info) as src, open(out, "wb") as dst:
                        shutil.copyfileobj(src, dst, 1 << 22)
                    count += 1
    site = spec.get("sitePackages")
    if site:
        for top in ("tensorflow", "nvidia"):
            for root, dirs, files in os.walk(os.path.join(site, top)):
                dirs[:] = [d for d in dirs if d != "__pycache__"]
                for f in files:
                    full = os.path.join(root, f)
                    out = target(os.path.relpath(full, site).replace(os.sep, "/"))
                    if out:
                        os.makedirs(os.path.dirname(out), exist_ok=True)
                        try:
                            os.link(os.path.realpath(full), out)
                        except OSError:
                            shutil.copy2(full, out)
                        count += 1
except OSError as e:
    if e.errno == errno.ENOSPC:
        print(str(e), file=sys.stderr); sys.exit(3)
    raise
print(count)
`;

/** Copies the libraries and headers into `depsDir`; checks that everything needed arrived. */
export async function collectTensorflowFiles(
  python: string,
  source: TensorflowFileSource,
  depsDir: string,
  gpu: boolean,
): Promise<void> {
  const spec = JSON.stringify({ dest: depsDir, gpu, ...source });
  const result = await runCommand(python, ['-c', COLLECT, spec]);
  const what = 'wheels' in source ? source.wheels.join(', ') : source.sitePackages;
  if (result.status === 3)
    throw new SetupError(
      `disk full while unpacking TensorFlow into ${depsDir}; free space or set NER_LAUNCH_CACHE to another disk`,
    );
  if (result.status === 4)
    throw new SetupError(
      `not a wheel (zip) file: ${outputTail(result.output, 1)}; pass a TensorFlow wheel to --wheel, e.g. tensorflow_cpu-2.21.0-cp311-cp311-manylinux_2_27_x86_64.whl`,
    );
  if (result.status !== 0)
    throw new SetupError(`unpacking TensorFlow from ${what} failed`, outputTail(result.output));
  for (const file of ['lib/libtensorflow_cc.so.2', 'lib/libtensorflow_framework.so.2'])
    if (!existsSync(join(depsDir, file)))
      throw new SetupError(
        `${what} holds no tensorflow/${file.slice(4)}: pass a TensorFlow 2.x wheel for Linux (tensorflow-cpu or tensorflow)`,
      );
  if (!existsSync(join(depsDir, 'include', 'tensorflow', 'c', 'c_api.h')))
    throw new SetupError(
      `${what} holds no C headers (tensorflow/include/tensorflow/c/c_api.h): pass a TensorFlow 2.x wheel`,
    );
  if (gpu) {
    const missing = REQUIRED_NVIDIA_PACKAGES.filter(
      (p) => !existsSync(join(depsDir, 'nvidia', p, 'lib')),
    );
    if (missing.length > 0)
      throw new SetupError(
        `GPU libraries missing (${missing.map((p) => `nvidia-${p.replace('_', '-')}-cu12`).join(', ')}): install them with pip install 'tensorflow[and-cuda]', or pass their wheels with --wheel`,
      );
  }
  // Link names for -ltensorflow / -ltensorflow_framework (the binding records the sonames).
  symlinkSync('libtensorflow_cc.so.2', join(depsDir, 'lib', 'libtensorflow.so'));
  symlinkSync('libtensorflow_framework.so.2', join(depsDir, 'lib', 'libtensorflow_framework.so'));
}
