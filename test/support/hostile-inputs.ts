/**
 * Small generated inputs for the hostile-input cases of issue 20: each builder writes its
 * files under a directory and returns the `ner-launch` arguments that exercise the case.
 * Shared by test/inputs/hostile-inputs.test.ts and the before/after measurement of the issue.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { zipSync } from 'fflate';

const enc = new TextEncoder();

function concat(...parts: (string | number[] | Uint8Array)[]): Uint8Array {
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
  return concat('X', length, body);
}

/** BININT (4-byte signed little-endian) of `n`. */
function binint(n: number): Uint8Array {
  const b = new Uint8Array(5);
  b[0] = 0x4a;
  new DataView(b.buffer).setInt32(1, n, true);
  return b;
}

/** A torch.save state-dict pickle: each tensor a view (shape, stride) of one float storage. */
export function stateDictPickle(
  tensors: { name: string; storageKey: string; numel: number; shape: number[]; stride: number[] }[],
): Uint8Array {
  const parts: (string | number[] | Uint8Array)[] = [[0x80, 2], 'ccollections\nOrderedDict\n)R('];
  for (const t of tensors) {
    const tuple = (xs: number[]): (number[] | Uint8Array)[] => [[0x28], ...xs.map(binint), [0x74]];
    parts.push(
      binunicode(t.name),
      'ctorch._utils\n_rebuild_tensor_v2\n(',
      '(',
      binunicode('storage'),
      'ctorch\nFloatStorage\n',
      binunicode(t.storageKey),
      binunicode('cpu'),
      binint(t.numel),
      'tQ',
      binint(0),
      ...tuple(t.shape),
      ...tuple(t.stride),
      [0x89],
      'ccollections\nOrderedDict\n)R',
      'tR',
    );
  }
  parts.push('u.');
  return concat(...parts);
}

/** A tiny BERT config.json (vocab 8, hidden 4, one layer), with `overrides` applied. */
export function tinyConfig(overrides: Record<string, unknown> = {}): string {
  return JSON.stringify({
    model_type: 'bert',
    vocab_size: 8,
    hidden_size: 4,
    num_hidden_layers: 1,
    num_attention_heads: 1,
    intermediate_size: 4,
    max_position_embeddings: 16,
    id2label: { 0: 'O', 1: 'B-PER' },
    ...overrides,
  });
}

const VOCAB = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'a', 'b', 'c'];

/** A model directory with config.json, vocab.txt and the given weight file. */
export function modelDir(
  dir: string,
  files: Record<string, Uint8Array | string>,
  config = tinyConfig(),
): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), config);
  writeFileSync(join(dir, 'vocab.txt'), `${VOCAB.join('\n')}\n`);
  for (const [name, data] of Object.entries(files)) writeFileSync(join(dir, name), data);
  return dir;
}

/** torch.save's zip layout around a pickle and its storages; `level` 0 stores, 9 deflates. */
export function torchZip(
  pickle: Uint8Array,
  storages: Record<string, Uint8Array>,
  level: 0 | 9 = 0,
): Uint8Array {
  const files: Record<string, Uint8Array> = {
    'archive/data.pkl': pickle,
    'archive/byteorder': enc.encode('little'),
  };
  for (const [key, data] of Object.entries(storages)) files[`archive/data/${key}`] = data;
  return zipSync(files, { level });
}

/** Rewrites the declared uncompressed size of entry `name` in a zip's headers (a lying zip bomb). */
export function lieAboutSize(zip: Uint8Array, name: string, size: number): Uint8Array {
  const out = Uint8Array.from(zip);
  const view = new DataView(out.buffer);
  const target = enc.encode(name);
  const matches = (at: number): boolean =>
    target.every((b, i) => out[at + i] === b) && target.length > 0;
  for (let at = 0; at + 46 < out.length; at++) {
    const sig = view.getUint32(at, true);
    if (sig === 0x04034b50 && view.getUint16(at + 26, true) === target.length && matches(at + 30))
      view.setUint32(at + 22, size, true);
    if (sig === 0x02014b50 && view.getUint16(at + 28, true) === target.length && matches(at + 46))
      view.setUint32(at + 24, size, true);
  }
  return out;
}

/** A one-line text input for predict. */
export function textInput(dir: string): string {
  const file = join(dir, 'input.txt');
  writeFileSync(file, 'a b c\n');
  return file;
}
