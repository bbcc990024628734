import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import yargs from 'yargs';
import {
  addLaunchOptions,
  checkOptionValue,
  flagsFromArgv,
  LAUNCH_OPTIONS,
  splitLaunchArgv,
} from '../src/launch-options.js';

function parse(args: string[]): Record<string, unknown> {
  return addLaunchOptions(yargs(args))
    .strict()
    .exitProcess(false)
    .fail((m) => {
      throw new Error(m);
    })
    .parseSync() as Record<string, unknown>;
}

describe('splitLaunchArgv', () => {
  it('stops at the target and leaves everything after it untouched', () => {
    const split = splitLaunchArgv([
      '--cpu',
      '--num_processes',
      '2',
      'train',
      '--num_processes',
      '7',
      '--cpu',
    ]);
    assert.deepEqual(split, {
      launchArgs: ['--cpu', '--num_processes', '2'],
      target: 'train',
      targetArgs: ['--num_processes', '7', '--cpu'],
    });
  });

  it('knows which flags take values, in either spelling, with = or a separate word', () => {
    const split = splitLaunchArgv([
      '--num-processes',
      '4',
      '--main_process_ip=10.0.0.1',
      '-q',
      '--same_network',
      '--tee',
      '3',
      'script.ts',
      'a',
    ]);
    assert.equal(split.target, 'script.ts');
    assert.deepEqual(split.targetArgs, ['a']);
    assert.equal(split.launchArgs.length, 7);
  });

  it('does not let a bare --tee swallow the target', () => {
    assert.equal(splitLaunchArgv(['--log_dir', 'logs', '--tee', 'train']).target, 'train');
  });

  it('reports no target when there is none', () => {
    assert.equal(splitLaunchArgv(['--cpu']).target, undefined);
  });
});

describe('flagsFromArgv', () => {
  it('accepts hyphen and underscore spellings alike and keeps only flags given', () => {
    assert.deepEqual(flagsFromArgv(parse(['--num-processes', '2', '--mixed_precision', 'bf16'])), {
      numProcesses: 2,
      mixedPrecision: 'bf16',
    });
  });

  it('rejects out-of-range and wrongly typed values naming the flag', () => {
    assert.throws(
      () => flagsFromArgv(parse(['--num_processes', '0'])),
      /--num_processes: expected an integer >= 1, got 0/,
    );
    assert.throws(
      () => flagsFromArgv(parse(['--num_processes', '1.5'])),
      /--num_processes: expected an integer/,
    );
    assert.throws(() => flagsFromArgv(parse(['--main_process_port', '70000'])), /<= 65535/);
    assert.throws(
      () => flagsFromArgv(parse(['--collective_timeout', '0'])),
      /expected a number > 0/,
    );
    assert.throws(() => parse(['--mixed_precision', 'fp8']), /Invalid values/);
    assert.throws(() => parse(['--backend', 'webgpu']), /Invalid values/);
  });

  it('reads a bare --tee as 3 (both streams)', () => {
    assert.equal(flagsFromArgv(parse(['--tee'])).tee, '3');
    assert.throws(() => flagsFromArgv(parse(['--tee', '5'])), /--tee: expected one of 0, 1, 2, 3/);
  });

  it('rejects unknown flags before the target', () => {
    assert.throws(() => parse(['--num_proc', '2']), /Unknown argument/);
  });
});

describe('the launch option schema', () => {
  it('uses accelerate launch defaults', () => {
    const defaults = Object.fromEntries(LAUNCH_OPTIONS.map((o) => [o.flag, o.default]));
    assert.equal(defaults.main_process_port, 29500);
    assert.equal(defaults.max_restarts, 0);
    assert.equal(defaults.mixed_precision, 'no');
    assert.equal(defaults.num_machines, 1);
    assert.equal(defaults.gpu_ids, 'all');
    assert.equal(defaults.collective_timeout, 1800);
  });

  it('checks values the same way for YAML, naming where they came from', () => {
    const option = LAUNCH_OPTIONS.find((o) => o.flag === 'num_machines')!;
    assert.throws(
      () => checkOptionValue(option, 'two', 'cfg.yaml:3: num_machines'),
      /^UsageError: cfg.yaml:3: num_machines: expected an integer >= 1, got 'two'$/,
    );
  });
});
