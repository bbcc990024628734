/**
 * The safetensors format (HF's default weight file): an 8-byte little-endian header length,
 * a JSON header mapping names to {dtype, shape, data_offsets}, then the raw tensor bytes.
 * Reading validates everything against the file size before touching data; writing emits
 * float32 tensors with `{"format": "pt"}` metadata, which transformers requires.
 */
import { open } from 'node:fs/promises';
import { NO_WEIGHT_LIMITS, readBoundedFile, type WeightLimits } from '../../bounded-file.js';
import { withAtomicFile } from '@ner-launch/common';
import { CheckpointError } from '../../checkpoint-error.js';
import {
  decodeElements,
  ELEMENT_SIZE,
  float32ToLittleEndianBytes,
  type ElementDtype,
} from './element-decode.js';
import { readShardedCheckpoint } from './sharded-checkpoint.js';
import type { StateDict } from './state-dict.js';

/** Tensors of one safetensors file (or of all shards), plus the header metadata. */
export interface SafetensorsContents {
  tensors: StateDict;
  /** Stored dtype of each tensor before conversion to float32. */
  storedDtypes: Map<string, ElementDtype>;
  metadata: Record<string, string>;
}

const DTYPES: Readonly<Record<string, ElementDtype>> = {
  F32: 'float32',
  F16: 'float16',
  BF16: 'bfloat16',
  F64: 'float64',
  I64: 'int64',
  I32: 'int32',
  I16: 'int16',
  I8: 'int8',
  U8: 'uint8',
  BOOL: 'bool',
};

// Headers are small (a few KiB per hundred tensors); anything huge is a corrupt length field.
const MAX_HEADER_BYTES = 100 * 1024 * 1024;

function isNonNegativeInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/** Parses and validates safetensors bytes; `file` is used in error messages only. */
export function parseSafetensors(bytes: Uint8Array, file: string): SafetensorsContents {
  if (bytes.byteLength < 8)
    throw new CheckpointError(
      file,
      `truncated or not a safetensors file: ${bytes.byteLength} bytes, shorter than the 8-byte header length`,
    );
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getBigUint64(0, true);
  if (headerLength > BigInt(Math.min(MAX_HEADER_BYTES, bytes.byteLength - 8)))
    throw new CheckpointError(
      file,
      `truncated or not a safetensors file: header length field says ${headerLength} bytes but the file has ${bytes.byteLength - 8} after it`,
    );
  const dataStart = 8 + Number(headerLength);
  let header: unknown;
  try {
    header = JSON.parse(
      new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, dataStart)),
    );
  } catch (error) {
    throw new CheckpointError(
      file,
      `safetensors header is not valid UTF-8 JSON (${(error as Error).message})`,
    );
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header))
    throw new CheckpointError(file, 'safetensors header is not a JSON object');

  const dataLength = bytes.byteLength - dataStart;
  const metadata: Record<string, string> = {};
  const entries: {
    name: string;
    dtype: ElementDtype;
    shape: number[];
    begin: number;
    end: number;
  }[] = [];
  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
        throw new CheckpointError(file, 'safetensors __metadata__ is not an object');
      for (const [k, v] of Object.entries(raw)) {
        if (typeof v !== 'string')
          throw new CheckpointError(file, `safetensors __metadata__.${k} is not a string`);
        metadata[k] = v;
      }
      continue;
    }
    const info = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const where = `tensor "${name}"`;
    if (typeof info !== 'object' || info === null)
      throw new CheckpointError(file, `${where}: header entry is not an object`);
    const dtype = typeof info.dtype === 'string' ? DTYPES[info.dtype] : undefined;
    if (!dtype)
      throw new CheckpointError(
        file,
        `${where}: unsupported dtype ${JSON.stringify(info.dtype)} (supported: ${Object.keys(DTYPES).join(', ')})`,
      );
    if (!Array.isArray(info.shape) || !info.shape.every(isNonNegativeInteger))
      throw new CheckpointError(
        file,
        `${where}: shape ${JSON.stringify(info.shape)} is not a list of non-negative integers`,
      );
    const offsets = info.data_offsets;
    if (
      !Array.isArray(offsets) ||
      offsets.length !== 2 ||
      !offsets.every(isNonNegativeInteger) ||
      offsets[0] > offsets[1]
    )
      throw new CheckpointError(
        file,
        `${where}: data_offsets ${JSON.stringify(offsets)} are not [begin, end]`,
      );
    const shape = info.shape as number[];
    const [begin, end] = offsets as [number, number];
    const expected = shape.reduce((a, b) => a * b, 1) * ELEMENT_SIZE[dtype];
    if (end - begin !== expected)
      throw new CheckpointError(
        file,
        `${where}: data_offsets span ${end - begin} bytes but ${dtype} shape [${shape.join(', ')}] needs ${expected}`,
      );
    if (end > dataLength)
      throw new CheckpointError(
        file,
        `truncated: ${where} ends at data byte ${end} but the file holds only ${dataLength} data bytes`,
      );
    entries.push({ name, dtype, shape, begin, end });
  }

  // Like the reference implementation: tensors tile the data area exactly, no overlap, no gaps.
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  for (const entry of sorted) {
    if (entry.begin !== cursor)
      throw new CheckpointError(
        file,
        `tensor "${entry.name}" starts at data byte ${entry.begin}, expected ${cursor} (overlapping or gapped data_offsets)`,
      );
    cursor = entry.end;
  }
  if (cursor !== dataLength)
    throw new CheckpointError(file, `${dataLength - cursor} trailing bytes after the last tensor`);

  const tensors: StateDict = new Map();
  const storedDtypes = new Map<string, ElementDtype>();
  for (const { name, dtype, shape, begin, end } of entries) {
    const count = (end - begin) / ELEMENT_SIZE[dtype];
    tensors.set(name, {
      shape,
      data: decodeElements(bytes.subarray(dataStart + begin, dataStart + end), dtype, count),
    });
    storedDtypes.set(name, dtype);
  }
  return { tensors, storedDtypes, metadata };
}

/** Reads one `.safetensors` file. */
export async function readSafetensors(
  path: string,
  limits: WeightLimits = NO_WEIGHT_LIMITS,
): Promise<SafetensorsContents> {
  return parseSafetensors(await readBoundedFile(path, limits.maxBytes, limits.source), path);
}

/** Reads a sharded safetensors checkpoint from its `model.safetensors.index.json`. */
export async function readShardedSafetensors(
  indexPath: string,
  limits: WeightLimits = NO_WEIGHT_LIMITS,
): Promise<SafetensorsContents> {
  const metadata: Record<string, string> = {};
  const merged = await readShardedCheckpoint(indexPath, async (shard) => {
    const contents = await readSafetensors(shard, limits);
    Object.assign(metadata, contents.metadata);
    return contents;
  });
  return { ...merged, metadata };
}

/** Builds the padded JSON header for float32 tensors laid out in name order. */
function encodeHeader(tensors: StateDict, metadata: Record<string, string>): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const name of [...tensors.keys()].sort()) {
    const { shape, data } = tensors.get(name)!;
    const count = shape.reduce((a, b) => a * b, 1);
    if (count !== data.length)
      throw new Error(
        `tensor "${name}": shape [${shape.join(', ')}] has ${count} elements but data has ${data.length}`,
      );
    header[name] = { dtype: 'F32', shape, data_offsets: [offset, offset + data.byteLength] };
    offset += data.byteLength;
  }
  let json = JSON.stringify(header);
  // Pad with spaces so the data starts 8-byte aligned, as the reference writer does.
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const body = Buffer.from(json, 'utf8');
  const out = new Uint8Array(8 + body.byteLength);
  new DataView(out.buffer).setBigUint64(0, BigInt(body.byteLength), true);
  out.set(body, 8);
  return out;
}

/**
 * Writes `tensors` as float32 safetensors at `path` directly (for use inside a directory that
 * is itself being written atomically). Streams tensor by tensor, so memory stays flat.
 */
export async function writeSafetensorsFile(
  path: string,
  tensors: StateDict,
  metadata: Record<string, string> = { format: 'pt' },
): Promise<void> {
  const handle = await open(path, 'w');
  try {
    await handle.write(encodeHeader(tensors, metadata));
    for (const name of [...tensors.keys()].sort())
      await handle.write(float32ToLittleEndianBytes(tensors.get(name)!.data));
    // Durable before any rename publishes it (the directory writer only fsyncs the directory).
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Writes `tensors` as float32 safetensors atomically (temp file, fsync, rename). */
export async function writeSafetensors(
  path: string,
  tensors: StateDict,
  metadata: Record<string, string> = { format: 'pt' },
): Promise<void> {
  await withAtomicFile(path, (tmp) => writeSafetensorsFile(tmp, tensors, metadata));
}
