import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dropoutKeep, philox4x32 } from '../../src/reference/philox.js';

// Random123's known-answer vectors for philox4x32-10 (kat_vectors).
test('Philox4x32-10 reproduces the Random123 known answers', () => {
  const hex = (words: number[]) => words.map((w) => w.toString(16).padStart(8, '0')).join(' ');
  assert.equal(hex(philox4x32([0, 0, 0, 0], [0, 0])), '6627e8d5 e169c58d bc57ac4c 9b00dbd8');
  assert.equal(
    hex(philox4x32([0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff], [0xffffffff, 0xffffffff])),
    '408f276d 41c83b0e a20bc7c6 6d5451fd',
  );
  assert.equal(
    hex(philox4x32([0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344], [0xa4093822, 0x299f31d0])),
    'd16cfe09 94fdcceb 5001e420 24126ea1',
  );
});

test('dropout keeps about 1 - p of the elements, differently per site and per forward', () => {
  const count = 20_000;
  const keep = (site: number, counter: number) =>
    Array.from({ length: count }, (_, i) => dropoutKeep(42, site, counter, i, 0.1));
  const base = keep(3, 0);
  const kept = base.filter(Boolean).length / count;
  assert.ok(Math.abs(kept - 0.9) < 0.01, `kept ${kept}`);
  const differs = (other: boolean[]) => other.filter((k, i) => k !== base[i]).length / count;
  assert.ok(differs(keep(4, 0)) > 0.15, 'another site draws another mask');
  assert.ok(differs(keep(3, 1)) > 0.15, 'the next forward draws another mask');
  assert.deepEqual(keep(3, 0), base, 'the same (seed, site, counter) regenerates the mask');
});
