/** `ner-launch test --benchmark`: the all-reduce report of a real 2-process launch. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { BenchmarkReport } from '@ner-launch/worker';
import { NER_LAUNCH_BIN } from '../support/cli.js';

function cli(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [NER_LAUNCH_BIN, ...args], {
    encoding: 'utf8',
    env: {
      ...process.env,
      NER_LAUNCH_CONFIG_DIR: mkdtempSync(join(tmpdir(), 'ner-launch-bench-')),
      NER_RUN_TOKEN: '',
    },
    timeout: 180_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const LAUNCH = ['--cpu', '--num_processes', '2', '--main_process_port', '0'];

test('--json prints one report with a row per size and dtype, figures consistent with their definitions', () => {
  const { code, stdout, stderr } = cli([
    'test',
    ...LAUNCH,
    '--benchmark',
    '--sizes_mb',
    '0.25,1',
    '--dtype',
    'fp32,bf16',
    '--iterations',
    '2',
    '--json',
  ]);
  assert.equal(code, 0, stderr);
  const report = JSON.parse(stdout) as BenchmarkReport;
  assert.equal(report.processes, 2);
  assert.equal(report.buffers, 'registered', "the group's own arrays by default");
  assert.match(
    report.transport,
    process.platform === 'linux' ? /^shared memory \(headers over a unix socket\)/ : /^unix socket/,
  );
  assert.deepEqual(
    report.rows.map((r) => `${r.dtype}:${r.sizeMB}`),
    ['fp32:0.25', 'fp32:1', 'bf16:0.25', 'bf16:1'],
  );
  for (const row of report.rows) {
    assert.equal(row.elements, (row.sizeMB * 2 ** 20) / (row.dtype === 'fp32' ? 4 : 2));
    assert.ok(row.meanSeconds > 0 && row.cpuSecondsPerOpPerRank > 0);
    const algbw = (row.sizeMB * 2 ** 20) / row.meanSeconds / 1e9;
    assert.ok(Math.abs(row.algbwGBps - algbw) < 1e-9 * algbw);
    assert.ok(Math.abs(row.busbwGBps - row.algbwGBps) < 1e-12, 'busbw = algbw for 2 ranks');
    assert.ok(row.raw && row.raw.oneWayGBps > 0 && row.raw.bothWaysGBps > 0);
    assert.ok(row.raw.bothWaysResidentGBps > 0);
    assert.ok(Math.abs(row.busbwOverRawBothWays! - row.busbwGBps / row.raw.bothWaysGBps) < 1e-9);
    assert.ok(
      Math.abs(row.busbwOverRawBothWaysResident! - row.busbwGBps / row.raw.bothWaysResidentGBps) <
        1e-9,
    );
  }
});

test('the table names its columns, rows and arrays; a bad dtype or buffer kind is a one-line usage error before any worker starts', () => {
  const table = cli([
    'test',
    ...LAUNCH,
    '--benchmark',
    '--sizes_mb',
    '0.5',
    '--iterations',
    '1',
    '--buffers',
    'plain',
  ]);
  assert.equal(table.code, 0, table.stderr);
  assert.match(table.stdout, /; arrays: plain\n/);
  assert.match(table.stdout, /size MB\s+dtype\s+elements\s+time ms\s+algbw GB\/s\s+busbw GB\/s/);
  assert.match(table.stdout, /\n\s+0\.5\s+fp32\s+131072\s/);
  const bad = cli(['test', ...LAUNCH, '--benchmark', '--dtype', 'fp8']);
  assert.equal(bad.code, 2);
  assert.equal(
    bad.stderr.trim(),
    "ner-launch: error: --dtype: 'fp8' is not one of fp32, fp16, bf16",
  );
  const buffers = cli(['test', ...LAUNCH, '--benchmark', '--buffers', 'shared']);
  assert.equal(buffers.code, 2);
  assert.equal(
    buffers.stderr.trim(),
    "ner-launch: error: --buffers: 'shared' is not one of registered, plain",
  );
});
