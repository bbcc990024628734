/**
 * The Python that `ner-launch setup tensorflow` works with: it may hold TensorFlow already
 * (with its nvidia-* CUDA packages), its pip fetches the wheels otherwise, and node-gyp runs
 * gyp with it.
 */
import { resolve } from 'node:path';
import { runCommand } from './run-command.js';
import { SetupError } from './setup-error.js';

/** An installed Python TensorFlow. */
export interface InstalledTensorflow {
  version: string;
  /** Distribution name: tensorflow (CUDA capable) or tensorflow-cpu. */
  distribution: string;
  /** site-packages directory holding `tensorflow/` (and `nvidia/` when installed). */
  sitePackages: string;
  /** nvidia-* packages with a lib/ directory, by directory name under nvidia/ (cublas, cudnn...). */
  nvidiaPackages: string[];
}

/** What the probe found in one Python. */
export interface PythonProbe {
  executable: string;
  version: string;
  hasPip: boolean;
  tensorflow?: InstalledTensorflow;
}

// Finds TensorFlow without importing it (importing loads 800 MB of libraries and logs).
const PROBE = String.raw`
import importlib.util, importlib.metadata, json, os, sys
out = {"version": sys.version.split()[0], "hasPip": importlib.util.find_spec("pip") is not None}
spec = importlib.util.find_spec("tensorflow")
if spec and spec.submodule_search_locations:
    tf_dir = list(spec.submodule_search_locations)[0]
    if os.path.exists(os.path.join(tf_dir, "libtensorflow_cc.so.2")):
        dist = version = None
        for name in ("tensorflow", "tensorflow-cpu", "tensorflow-intel", "tf-nightly"):
            try:
                version = importlib.metadata.version(name); dist = name; break
            except importlib.metadata.PackageNotFoundError:
                pass
        site = os.path.dirname(tf_dir)
        nv = os.path.join(site, "nvidia")
        pkgs = sorted(p for p in os.listdir(nv) if os.path.isdir(os.path.join(nv, p, "lib"))) if os.path.isdir(nv) else []
        if version:
            out["tensorflow"] = {"version": version, "distribution": dist, "sitePackages": site, "nvidiaPackages": pkgs}
print(json.dumps(out))
`;

/** The Python to use: `--python`, else python3 (then python) on PATH. */
export async function probePython(explicit: string | undefined): Promise<PythonProbe> {
  // A path is kept absolute, so the manifest and messages name it wherever they are read.
  const candidates = explicit
    ? [explicit.includes('/') ? resolve(explicit) : explicit]
    : ['python3', 'python'];
  for (const executable of candidates) {
    const result = await runCommand(executable, ['-c', PROBE]);
    if (result.spawnError || result.status !== 0) continue;
    try {
      const parsed = JSON.parse(result.output.trim().split('\n').pop() ?? '') as Omit<
        PythonProbe,
        'executable'
      >;
      if (!parsed.version.startsWith('3.')) continue;
      return { executable, ...parsed };
    } catch {
      continue;
    }
  }
  throw new SetupError(
    explicit
      ? `--python ${explicit}: not a working Python 3 interpreter; pass the path of one (e.g. --python /usr/bin/python3)`
      : 'no Python 3 found on PATH (pip fetches TensorFlow and node-gyp needs Python): install python3 with pip, or pass --python PY',
  );
}
