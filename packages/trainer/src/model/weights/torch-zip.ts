/**
 * Reads `pytorch_model.bin` as written by `torch.save`: the zip container (torch >= 1.6:
 * `<name>/data.pkl` plus one `<name>/data/<key>` entry per storage) or the legacy stream
 * (magic, protocol and sys-info pickles, the state-dict pickle, then the raw storages).
 * The pickles go through the restricted unpickler; tensors are then gathered from storages.
 */
import { NO_WEIGHT_LIMITS, readBoundedFile, type WeightLimits } from '../../bounded-file.js';
import { CheckpointError } from '../../checkpoint-error.js';
import { decodeElements, ELEMENT_SIZE, type ElementDtype } from './element-decode.js';
import type { StateDict } from './state-dict.js';
import {
  unpicklePlain,
  unpickleStateDict,
  type StorageRef,
  type TensorRef,
} from './torch-pickle.js';
import { listZipEntries, readZipEntry } from './zip-archive.js';

/** Tensors of a PyTorch checkpoint, converted to float32, with their stored dtypes. */
export interface TorchCheckpointContents {
  tensors: StateDict;
  storedDtypes: Map<string, ElementDtype>;
  format: 'zip' | 'legacy';
}

const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;
const LEGACY_PROTOCOL = 1001;

function isZip(bytes: Uint8Array): boolean {
  return bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04;
}

/** Builds every tensor from its storage bytes, honouring offset and strides. */
function materialise(
  refs: Map<string, TensorRef>,
  storageBytes: (storage: StorageRef) => Uint8Array,
  limits: WeightLimits,
): Pick<TorchCheckpointContents, 'tensors' | 'storedDtypes'> {
  checkViews(refs, limits);
  const decoded = new Map<string, Float32Array>();
  // A storage that backs exactly one tensor can be handed over without a copy; shared
  // (tied) storages are copied per tensor so no two parameters alias one buffer.
  const users = new Map<string, number>();
  for (const ref of refs.values())
    users.set(ref.storage.key, (users.get(ref.storage.key) ?? 0) + 1);
  const tensors: StateDict = new Map();
  const storedDtypes = new Map<string, ElementDtype>();
  for (const [name, ref] of refs) {
    const { storage, offset, shape, stride } = ref;
    const cacheKey = `${storage.key}:${storage.dtype}`;
    let data = decoded.get(cacheKey);
    if (!data) {
      const bytes = storageBytes(storage);
      const available = Math.floor(bytes.byteLength / ELEMENT_SIZE[storage.dtype]);
      data = decodeElements(bytes, storage.dtype, available);
      decoded.set(cacheKey, data);
    }
    const count = shape.reduce((a, b) => a * b, 1);
    let last = offset;
    for (let d = 0; d < shape.length; d++) if (shape[d]! > 0) last += (shape[d]! - 1) * stride[d]!;
    if (count > 0 && (offset < 0 || last >= data.length || stride.some((s) => s < 0)))
      throw new Error(
        `tensor "${name}" (shape [${shape.join(', ')}], offset ${offset}) reaches element ${last} of storage ${storage.key}, which holds ${data.length}`,
      );
    let out: Float32Array;
    let contiguous = true;
    for (let d = shape.length - 1, expected = 1; d >= 0; expected *= shape[d]!, d--)
      if (shape[d]! > 1 && stride[d] !== expected) contiguous = false;
    if (contiguous)
      out =
        users.get(storage.key) === 1 && offset === 0 && count === data.length
          ? data
          : data.slice(offset, offset + count);
    else {
      // A strided view (e.g. a transposed tied weight): walk the index odometer.
      out = new Float32Array(count);
      const index = new Array<number>(shape.length).fill(0);
      let source = offset;
      for (let i = 0; i < count; i++) {
        out[i] = data[source]!;
        for (let d = shape.length - 1; d >= 0; d--) {
          index[d]!++;
          source += stride[d]!;
          if (index[d]! < shape[d]!) break;
          source -= index[d]! * stride[d]!;
          index[d] = 0;
        }
      }
    }
    tensors.set(name, { shape: [...shape], data: out });
    storedDtypes.set(name, storage.dtype);
  }
  return { tensors, storedDtypes };
}

/**
 * Refuses, before any tensor is built, views that need more memory than the file holds or the
 * config allows: a tensor with more elements than its storage (stride 0 or overlapping
 * strides repeat elements: a few hundred bytes could describe gigabytes) or than the largest
 * parameter of the model, and a total beyond the byte limit.
 */
function checkViews(refs: Map<string, TensorRef>, limits: WeightLimits): void {
  let total = 0;
  for (const [name, { storage, shape }] of refs) {
    const count = shape.reduce((a, b) => a * b, 1);
    if (shape.some((d) => d < 0) || !Number.isSafeInteger(count))
      throw new Error(`tensor "${name}" has a malformed shape [${shape.join(', ')}]`);
    if (count > storage.numel)
      throw new Error(
        `tensor "${name}" (shape [${shape.join(', ')}], ${count} elements) is a view repeating the ${storage.numel} elements of storage ${storage.key} (stride 0 or overlapping strides); a weight must have its own elements`,
      );
    if (count > limits.maxTensorElements)
      throw new Error(
        `tensor "${name}" has ${count} elements, more than the largest parameter of ${limits.source} (${limits.maxTensorElements})`,
      );
    total += count * 4;
    if (total > limits.maxBytes)
      throw new Error(
        `the tensors need more than ${limits.maxBytes} bytes as float32, the limit for ${limits.source}`,
      );
  }
}

const ZIP_NAME_LIMIT = 100_000;

function readZip(bytes: Uint8Array, file: string, limits: WeightLimits): TorchCheckpointContents {
  let listed;
  try {
    listed = listZipEntries(bytes);
  } catch (error) {
    throw new CheckpointError(
      file,
      `corrupt or truncated zip archive (${(error as Error).message})`,
      { cause: error },
    );
  }
  if (listed.length > ZIP_NAME_LIMIT)
    throw new CheckpointError(
      file,
      `zip archive has ${listed.length} entries, more than the ${ZIP_NAME_LIMIT} a checkpoint may have`,
    );
  const index = new Map(listed.map((entry) => [entry.name, entry]));
  let declared = 0;
  for (const entry of listed) {
    declared += entry.size;
    if (entry.size > limits.maxBytes || declared > limits.maxBytes)
      throw new CheckpointError(
        file,
        `zip entry ${entry.name} declares ${entry.size} bytes (${declared} in all so far), more than the ${limits.maxBytes} bytes allowed for ${limits.source}`,
      );
  }
  const read = (name: string): Uint8Array | undefined => {
    const entry = index.get(name);
    if (!entry) return undefined;
    try {
      return readZipEntry(bytes, entry);
    } catch (error) {
      throw new CheckpointError(file, `zip archive: ${(error as Error).message}`, { cause: error });
    }
  };
  const entries = { get: read };
  const pickles = [...index.keys()].filter((name) => /^[^/]+\/data\.pkl$/.test(name));
  if (pickles.length !== 1)
    throw new CheckpointError(
      file,
      `zip archive is not a torch.save file: expected one <name>/data.pkl, found ${pickles.length}`,
    );
  const prefix = pickles[0]!.slice(0, -'data.pkl'.length);
  const byteorder = entries.get(`${prefix}byteorder`);
  if (byteorder && new TextDecoder().decode(byteorder).trim() !== 'little')
    throw new CheckpointError(file, 'big-endian torch checkpoints are not supported');
  let refs: Map<string, TensorRef>;
  try {
    refs = unpickleStateDict(entries.get(pickles[0]!)!, 0).tensors;
  } catch (error) {
    throw new CheckpointError(file, `${pickles[0]}: ${(error as Error).message}`, { cause: error });
  }
  try {
    const result = materialise(
      refs,
      (storage) => {
        const data = entries.get(`${prefix}data/${storage.key}`);
        if (!data)
          throw new Error(`storage entry ${prefix}data/${storage.key} is missing from the archive`);
        const need = storage.numel * ELEMENT_SIZE[storage.dtype];
        if (data.byteLength < need)
          throw new Error(
            `storage entry ${prefix}data/${storage.key} has ${data.byteLength} bytes, expected ${need}`,
          );
        return data;
      },
      limits,
    );
    return { ...result, format: 'zip' };
  } catch (error) {
    throw new CheckpointError(file, (error as Error).message, { cause: error });
  }
}

function readLegacy(
  bytes: Uint8Array,
  file: string,
  limits: WeightLimits,
): TorchCheckpointContents {
  try {
    let pos = 0;
    const magic = unpicklePlain(bytes, pos);
    if (
      BigInt(
        typeof magic.value === 'number' || typeof magic.value === 'bigint' ? magic.value : -1,
      ) !== LEGACY_MAGIC
    )
      throw new Error(
        'not a PyTorch checkpoint (neither a zip archive nor the legacy magic number)',
      );
    const protocol = unpicklePlain(bytes, magic.end);
    if (protocol.value !== LEGACY_PROTOCOL)
      throw new Error(`unsupported legacy torch protocol version ${String(protocol.value)}`);
    const sysInfo = unpicklePlain(bytes, protocol.end);
    if (sysInfo.value instanceof Map && sysInfo.value.get('little_endian') === false)
      throw new Error('big-endian torch checkpoints are not supported');
    const main = unpickleStateDict(bytes, sysInfo.end);
    const keys = unpicklePlain(bytes, main.end);
    if (!Array.isArray(keys.value) || !keys.value.every((k) => typeof k === 'string'))
      throw new Error('legacy storage key list is malformed');
    pos = keys.end;
    // Storages follow in key-list order, each an int64 element count then the raw elements.
    const sizes = new Map<string, ElementDtype>();
    for (const ref of main.tensors.values()) sizes.set(ref.storage.key, ref.storage.dtype);
    const storageData = new Map<string, Uint8Array>();
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (const key of keys.value as string[]) {
      const dtype = sizes.get(key);
      if (!dtype) throw new Error(`legacy storage ${key} is not used by any tensor`);
      if (pos + 8 > bytes.byteLength) throw new Error(`truncated: storage ${key} header missing`);
      const numel = Number(view.getBigInt64(pos, true));
      pos += 8;
      const length = numel * ELEMENT_SIZE[dtype];
      if (numel < 0 || pos + length > bytes.byteLength)
        throw new Error(
          `truncated: storage ${key} needs ${length} bytes, ${bytes.byteLength - pos} left`,
        );
      storageData.set(key, bytes.subarray(pos, pos + length));
      pos += length;
    }
    const result = materialise(
      main.tensors,
      (storage) => {
        const data = storageData.get(storage.key);
        if (!data) throw new Error(`legacy storage ${storage.key} is missing`);
        return data;
      },
      limits,
    );
    return { ...result, format: 'legacy' };
  } catch (error) {
    throw new CheckpointError(file, (error as Error).message, { cause: error });
  }
}

/** Parses `torch.save` output held in memory; `file` is used in error messages only. */
export function parseTorchCheckpoint(
  bytes: Uint8Array,
  file: string,
  limits: WeightLimits = NO_WEIGHT_LIMITS,
): TorchCheckpointContents {
  return isZip(bytes) ? readZip(bytes, file, limits) : readLegacy(bytes, file, limits);
}

/** Reads a `pytorch_model.bin` (or any `torch.save`d state dict) without executing it. */
export async function readTorchCheckpoint(
  path: string,
  limits: WeightLimits = NO_WEIGHT_LIMITS,
): Promise<TorchCheckpointContents> {
  const bytes = await readBoundedFile(path, limits.maxBytes, limits.source);
  return parseTorchCheckpoint(bytes, path, limits);
}
