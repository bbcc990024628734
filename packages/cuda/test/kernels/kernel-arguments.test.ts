import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KernelArguments } from '../../src/kernels/kernel-arguments.js';
import { parseKernelSignatures } from '../../src/kernels/signatures.js';
import {
  KERNEL_FILES,
  KERNEL_HEADERS,
  readKernelSource,
  type KernelFile,
} from '../../src/kernels/sources.js';

test('every kernel the engine launches is declared in its file, with parameter types the host can pass', () => {
  for (const file of Object.keys(KERNEL_FILES) as KernelFile[]) {
    const signatures = parseKernelSignatures(readKernelSource(file), file);
    assert.deepEqual([...signatures.keys()].sort(), [...KERNEL_FILES[file]].sort(), file);
  }
  for (const header of KERNEL_HEADERS)
    assert.ok(readKernelSource(header).includes('#pragma once'), header);
});

test('a kernel signature is read as pointer and scalar kinds', () => {
  const source =
    'extern "C" __global__ void k(floatX* out, const float* in, long long n, float p,\n unsigned int seed, unsigned long long counter, int act) {}';
  assert.deepEqual(parseKernelSignatures(source, 'k.cu').get('k'), [
    'ptr',
    'ptr',
    'i64',
    'f32',
    'u32',
    'u64',
    'i32',
  ]);
  assert.throws(
    () => parseKernelSignatures('extern "C" __global__ void k(double x) {}', 'k.cu'),
    /k\.cu: kernel k: unsupported parameter "double x"/,
  );
});

test('the argument block points each table entry at its value slot and stores values little-endian', () => {
  const args = new KernelArguments('k', ['ptr', 'i64', 'f32', 'u32', 'u64', 'i32']);
  try {
    const base = args.address();
    for (let i = 0; i < 6; i++) assert.equal(args.tableEntry(i), base + BigInt(8 * (6 + i)));
    args.set([0x7f0012345600n, 3_000_000_000, 0.1, 0xfffffffe, 2n ** 40n + 5n, -7]);
    assert.equal(args.slot(0).getBigUint64(0, true), 0x7f0012345600n);
    assert.equal(args.slot(1).getBigInt64(0, true), 3_000_000_000n);
    assert.equal(args.slot(2).getFloat32(0, true), Math.fround(0.1));
    assert.equal(args.slot(3).getUint32(0, true), 0xfffffffe);
    assert.equal(args.slot(4).getBigUint64(0, true), 2n ** 40n + 5n);
    assert.equal(args.slot(5).getInt32(0, true), -7);
    assert.throws(() => args.set([1n]), /^Error: k: 1 arguments given, it takes 6$/);
  } finally {
    args.dispose();
  }
});
