import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../packages/launcher/bin/ner-launch.mjs', import.meta.url));
const FAKE_WORKER = fileURLToPath(
  new URL('../../packages/launcher/test/fixtures/fake-worker.mjs', import.meta.url),
);

const ACCELERATE_CONFIGS = fileURLToPath(
  new URL('../../packages/launcher/test/fixtures/accelerate-configs/', import.meta.url),
);

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'ner-launch-cli-'));
}

/** Runs ner-launch with its config dirs (its own and accelerate's) isolated from the user's. */
function cli(args: string[], configDir = tempDir()) {
  const result = spawnSync(process.execPath, [BIN, ...args], {
    encoding: 'utf8',
    env: {
      ...process.env,
      NER_LAUNCH_CONFIG_DIR: configDir,
      HF_HOME: configDir,
      NER_RUN_TOKEN: '',
    },
    timeout: 120_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

async function waitFor(check: () => boolean, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 50));
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('ner-launch CLI', () => {
  it('groups the launch flags in -h like accelerate launch', () => {
    const { code, stdout } = cli(['-h']);
    assert.equal(code, 0);
    const order = [
      'Hardware selection:',
      'Resource selection:',
      'Distributed',
      'Fault tolerance:',
      'Logging:',
    ].map((g) => stdout.indexOf(g));
    assert.ok(
      order.every((i) => i >= 0),
      stdout,
    );
    assert.deepEqual(
      [...order].sort((a, b) => a - b),
      order,
    );
    assert.match(stdout, /--num_processes, --num-processes/);
  });

  it('launches a script with the flags before it and passes everything after it untouched', () => {
    const out = tempDir();
    const { code, stdout, stderr } = cli([
      '--cpu',
      '--num-processes',
      '2',
      '--main_process_port',
      '0',
      FAKE_WORKER,
      `env-out=${out}`,
      '--cpu',
      'say=x',
    ]);
    assert.equal(code, 0, stderr);
    assert.deepEqual(readdirSync(out).sort(), ['rank-0.json', 'rank-1.json']);
    assert.match(stdout, /^\[rank 1\] x line1$/m);
  });

  it('takes flags over the default config file over defaults, warning about defaults used', () => {
    const configDir = tempDir();
    writeFileSync(
      join(configDir, 'default_config.yaml'),
      'distributed_type: MULTI_CPU\nuse_cpu: true\nnum_processes: 3\nmain_process_port: 0\n',
    );
    const fromFile = tempDir();
    const first = cli([FAKE_WORKER, `env-out=${fromFile}`], configDir);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(readdirSync(fromFile).length, 3);
    assert.match(
      first.stderr,
      /defaults used instead: --mixed_precision=no --backend=auto --num_machines=1/,
    );
  });

  it('names the file and key of a bad config file', () => {
    const dir = tempDir();
    const path = join(dir, 'bad.yaml');
    writeFileSync(path, 'num_processes: 2\nnum_gpus: 2\n');
    const unknown = cli(['--config_file', path, FAKE_WORKER]);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /bad\.yaml:2: num_gpus: unknown key/);
  });

  it('says clearly when the target is neither train nor a script', () => {
    const { code, stderr } = cli(['--cpu', 'no-such-script.ts']);
    assert.equal(code, 2);
    assert.match(
      stderr,
      /launch target 'no-such-script\.ts' is neither `train` nor an existing script file/,
    );
  });

  it('launches the built-in trainer, whose worker answers `train --help` with its flags', () => {
    const { code, stdout, stderr } = cli(['--cpu', '--main_process_port', '0', 'train', '--help']);
    assert.equal(code, 0, stderr);
    assert.match(stdout, /--learning_rate/);
    assert.doesNotMatch(stderr, /Unknown argument/);
  });

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`forwards ${signal} to every worker and leaves no process behind`, async () => {
      const pids = tempDir();
      const launcher = spawn(
        process.execPath,
        [
          BIN,
          '--cpu',
          '--num_processes',
          '3',
          '--main_process_port',
          '0',
          FAKE_WORKER,
          'sleep=60000',
          `pids=${pids}`,
          'grandchild',
        ],
        {
          env: { ...process.env, NER_LAUNCH_CONFIG_DIR: tempDir() },
          stdio: ['ignore', 'ignore', 'pipe'],
        },
      );
      let stderr = '';
      launcher.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      const exited = new Promise<number | null>((r) => launcher.once('exit', (code) => r(code)));
      await waitFor(() => readdirSync(pids).length === 3, 60_000);
      const all = readdirSync(pids).flatMap((f) =>
        readFileSync(join(pids, f), 'utf8').trim().split('\n').map(Number),
      );
      launcher.kill(signal);
      const code = await exited;
      assert.equal(code, signal === 'SIGTERM' ? 143 : 130, stderr);
      assert.match(stderr, new RegExp(`Stopped by ${signal}`));
      await waitFor(() => all.every((p) => !alive(p)), 5000);
    });
  }

  it('writes a default config without questions and never overwrites it', () => {
    const configDir = tempDir();
    const first = cli(['config', 'default'], configDir);
    assert.equal(first.code, 0, first.stderr);
    const path = join(configDir, 'default_config.yaml');
    assert.match(first.stdout, new RegExp(`saved at ${path}`));
    writeFileSync(path, `${readFileSync(path, 'utf8')}# edited\n`);
    const second = cli(['config', 'default', '--mixed_precision', 'bf16'], configDir);
    assert.equal(second.code, 0);
    assert.match(second.stderr, /already exists/);
    assert.match(readFileSync(path, 'utf8'), /# edited\n$/);
  });

  it('refuses interactive config without a terminal', () => {
    const { code, stderr } = cli(['config']);
    assert.equal(code, 2);
    assert.match(stderr, /use `ner-launch config default`/);
  });

  it('reports the environment with versions, backends, GPUs and config', () => {
    const { code, stdout } = cli(['env']);
    assert.equal(code, 0);
    assert.match(stdout, new RegExp(`Node version: ${process.versions.node}`));
    assert.match(stdout, /- wasm: \d/);
    assert.match(stdout, /NVIDIA GPUs/);
    assert.match(
      stdout,
      /Launch config file: none \(neither .*default_config\.yaml nor accelerate's .*accelerate\/default_config\.yaml exists\)/,
    );
  });

  it("reads accelerate's default config when ner-launch has none, says so, and `env` names it", () => {
    const home = tempDir(); // both NER_LAUNCH_CONFIG_DIR and HF_HOME
    mkdirSync(join(home, 'accelerate'));
    const accelerateFile = join(home, 'accelerate', 'default_config.yaml');
    copyFileSync(join(ACCELERATE_CONFIGS, 'config_0_2x_multi_cpu.yaml'), accelerateFile);
    const out = tempDir();
    const run = cli(['--main_process_port', '0', FAKE_WORKER, `env-out=${out}`], home);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(readdirSync(out).length, 2, 'num_processes 2 from the accelerate file');
    assert.ok(
      run.stderr.includes(
        `launch config: ${accelerateFile} (accelerate's default; ${join(home, 'default_config.yaml')} does not exist)`,
      ),
      run.stderr,
    );
    const env = cli(['env'], home);
    assert.ok(
      env.stdout.includes(`Launch config file: ${accelerateFile} (accelerate's default;`),
      env.stdout,
    );
    assert.match(env.stdout, /^ {4}ipex_config:$/m);
  });

  it('passes `ner-launch test --cpu --num_processes 2` with its success line', () => {
    const { code, stdout, stderr } = cli([
      'test',
      '--cpu',
      '--num_processes',
      '2',
      '--main_process_port',
      '0',
    ]);
    assert.equal(code, 0, stderr);
    assert.match(stdout, /Test is a success!/);
  });
});
