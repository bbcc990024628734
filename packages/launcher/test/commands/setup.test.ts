import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  findTensorflowInstall,
  tensorflowInstallKey,
} from '@ner-launch/trainer/tensorflow-install';
import { NER_LAUNCH_BIN } from '../../../../test/support/cli.js';
import { referencePython } from '../../../../test/support/python.js';
import { skipWithoutTensorflow } from '../../../../test/support/tensorflow.js';

const scratch = mkdtempSync(join(tmpdir(), 'ner-setup-tf-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

function setup(args: string[], env: NodeJS.ProcessEnv = {}) {
  return spawnSync(process.execPath, [NER_LAUNCH_BIN, 'setup', 'tensorflow', ...args], {
    encoding: 'utf8',
    env: { ...process.env, NER_LOG_LEVEL: 'warn', ...env },
    timeout: 120_000,
  });
}

/** An empty cache of its own, so a failing run cannot touch the real one. */
function emptyCache(name: string): string {
  const dir = join(scratch, name);
  mkdirSync(dir);
  return dir;
}

function oneLineError(stderr: string, pattern: RegExp): void {
  const lines = stderr.trim().split('\n');
  assert.equal(lines.length, 1, stderr);
  assert.match(lines[0]!, /^ner-launch: error: /);
  assert.match(lines[0]!, pattern);
}

describe('ner-launch setup tensorflow', () => {
  it('does nothing on a second run and says so', { skip: skipWithoutTensorflow() }, () => {
    const install = findTensorflowInstall()!;
    const manifest = readFileSync(join(install.dir, 'manifest.json'), 'utf8');
    const python = referencePython() ?? 'python3';
    const started = Date.now();
    const r = setup(['--python', python]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /is already set up in .*; nothing to do/);
    assert.ok(r.stdout.includes(install.dir), r.stdout);
    // Not rebuilt: the manifest (with its creation time) is the one from the first run.
    assert.equal(readFileSync(join(install.dir, 'manifest.json'), 'utf8'), manifest);
    assert.ok(Date.now() - started < 60_000);
  });

  it('fails on a file that is not a wheel and leaves no half-built cache', () => {
    const cache = emptyCache('bad-wheel');
    // A temporary directory of an earlier run that was killed (no such process): cleaned up.
    mkdirSync(join(cache, 'tensorflow', '.tmp-999999999-abandoned', 'node_modules'), {
      recursive: true,
    });
    const fake = join(scratch, 'tensorflow_cpu-2.21.0-cp311-cp311-manylinux_2_27_x86_64.whl');
    writeFileSync(fake, 'this is not a zip archive\n');
    const r = setup(['--wheel', fake], { NER_LAUNCH_CACHE: cache });
    assert.equal(r.status, 1, r.stdout);
    oneLineError(
      r.stderr,
      /not a wheel \(zip\) file: .*tensorflow_cpu-2\.21\.0.*pass a TensorFlow wheel to --wheel/,
    );
    assert.deepEqual(readdirSync(join(cache, 'tensorflow')), []);
  });

  it('names the flag when --wheel or --python point at nothing usable', () => {
    const cache = emptyCache('bad-flags');
    const missing = setup(['--wheel', join(scratch, 'nope.whl')], { NER_LAUNCH_CACHE: cache });
    assert.equal(missing.status, 1);
    oneLineError(missing.stderr, /--wheel .*nope\.whl: no such file/);
    const notWheel = join(scratch, 'notes.txt');
    writeFileSync(notWheel, 'x');
    const wrong = setup(['--wheel', notWheel], { NER_LAUNCH_CACHE: cache });
    oneLineError(wrong.stderr, /no TensorFlow wheel among them/);
    const python = setup(['--python', join(scratch, 'no-python')], { NER_LAUNCH_CACHE: cache });
    assert.equal(python.status, 1);
    oneLineError(python.stderr, /--python .*no-python: not a working Python 3 interpreter/);
    assert.deepEqual(readdirSync(cache), []);
  });

  it('says what to install when the compiler or the Node.js headers are missing', () => {
    const fake = join(scratch, 'tensorflow_cpu-2.21.0-cp311-cp311-manylinux_2_27_x86_64.whl');
    writeFileSync(fake, 'x');
    const cache = emptyCache('no-tools');
    const noCompiler = setup(['--wheel', fake], {
      NER_LAUNCH_CACHE: cache,
      CXX: join(scratch, 'no-such-compiler'),
    });
    assert.equal(noCompiler.status, 1);
    oneLineError(noCompiler.stderr, /no C\+\+ compiler .* found: install build-essential/);
    const noHeaders = setup(['--wheel', fake], {
      NER_LAUNCH_CACHE: cache,
      npm_config_nodedir: scratch,
    });
    assert.equal(noHeaders.status, 1);
    oneLineError(noHeaders.stderr, /Node\.js headers not found .*node_api\.h/);
    assert.deepEqual(readdirSync(cache), []);
  });

  it('refuses to build over a directory that is not a finished install', () => {
    const fake = join(scratch, 'tensorflow_cpu-2.21.0-cp311-cp311-manylinux_2_27_x86_64.whl');
    writeFileSync(fake, 'x');
    const cache = emptyCache('foreign-dir');
    const foreign = join(cache, 'tensorflow', tensorflowInstallKey('2.21.0', 'cpu'));
    mkdirSync(join(foreign, 'node_modules'), { recursive: true });
    const r = setup(['--wheel', fake], { NER_LAUNCH_CACHE: cache });
    assert.equal(r.status, 1);
    oneLineError(r.stderr, /exists but is not a finished install \(no manifest\.json\); remove it/);
    assert.deepEqual(readdirSync(foreign), ['node_modules']);
  });

  it('refuses --gpu with a tensorflow-cpu wheel', () => {
    const fake = join(scratch, 'tensorflow_cpu-2.21.0-cp311-cp311-manylinux_2_27_x86_64.whl');
    writeFileSync(fake, 'x');
    const r = setup(['--gpu', '--wheel', fake], { NER_LAUNCH_CACHE: emptyCache('gpu-cpu') });
    assert.equal(r.status, 1);
    oneLineError(r.stderr, /--gpu needs the CUDA-capable tensorflow wheel/);
  });

  /** A site-packages with a TensorFlow that has libraries but no C headers (a broken install). */
  function fakeSitePackages(distribution: string): string {
    const site = mkdtempSync(join(scratch, 'site-'));
    mkdirSync(join(site, 'tensorflow'));
    writeFileSync(join(site, 'tensorflow', '__init__.py'), '');
    for (const lib of ['libtensorflow_cc.so.2', 'libtensorflow_framework.so.2'])
      writeFileSync(join(site, 'tensorflow', lib), 'not a library');
    const info = join(site, `${distribution.replace('-', '_')}-2.21.0.dist-info`);
    mkdirSync(info);
    writeFileSync(
      join(info, 'METADATA'),
      `Metadata-Version: 2.1\nName: ${distribution}\nVersion: 2.21.0\n`,
    );
    return site;
  }

  it('takes an installed Python TensorFlow first, and says what is missing from it', () => {
    const site = fakeSitePackages('tensorflow-cpu');
    const cache = emptyCache('installed-tf');
    const r = setup(['--python', 'python3'], { NER_LAUNCH_CACHE: cache, PYTHONPATH: site });
    assert.equal(r.status, 1, r.stdout);
    oneLineError(
      r.stderr,
      new RegExp(`${site}.* holds no C headers \\(tensorflow/include/tensorflow/c/c_api\\.h\\)`),
    );
    assert.deepEqual(readdirSync(join(cache, 'tensorflow')), []);
  });

  it('with --gpu, names the nvidia-*-cu12 packages missing beside an installed TensorFlow', () => {
    const site = fakeSitePackages('tensorflow');
    const cache = emptyCache('installed-tf-gpu');
    const r = setup(['--gpu', '--python', 'python3'], {
      NER_LAUNCH_CACHE: cache,
      PYTHONPATH: site,
    });
    assert.equal(r.status, 1, r.stdout);
    oneLineError(
      r.stderr,
      /GPU libraries missing beside .*TensorFlow \(nvidia-cuda-runtime-cu12, nvidia-cublas-cu12, nvidia-cufft-cu12, nvidia-cusolver-cu12, nvidia-cusparse-cu12, nvidia-cudnn-cu12\): run .* -m pip install 'tensorflow\[and-cuda\]==2\.21\.0'/,
    );
    assert.deepEqual(readdirSync(cache), []);
  });
});
