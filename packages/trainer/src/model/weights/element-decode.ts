/**
 * Decoding of stored tensor elements (little-endian bytes as written by PyTorch and
 * safetensors) into float32, shared by the safetensors and pytorch_model.bin readers.
 */
import type { StoredDtype } from './state-dict.js';

/** Element dtypes readers accept: the float ones plus integer/bool buffers (e.g. position_ids). */
export type ElementDtype = StoredDtype | 'int16' | 'int8' | 'uint8' | 'bool';

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Bytes per element of each dtype. */
export const ELEMENT_SIZE: Readonly<Record<ElementDtype, number>> = {
  float32: 4,
  float16: 2,
  bfloat16: 2,
  float64: 8,
  int64: 8,
  int32: 4,
  int16: 2,
  int8: 1,
  uint8: 1,
  bool: 1,
};

// float16 → float32 by table: 65536 entries is 256 KiB and makes conversion a plain lookup.
let halfTable: Float32Array | undefined;
function halfToFloatTable(): Float32Array {
  if (halfTable) return halfTable;
  const table = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exponent = (h >> 10) & 0x1f;
    const mantissa = h & 0x3ff;
    if (exponent === 0) table[h] = sign * mantissa * 2 ** -24;
    else if (exponent === 31) table[h] = mantissa ? NaN : sign * Infinity;
    else table[h] = sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
  }
  halfTable = table;
  return table;
}

/**
 * Converts `count` elements of `dtype` starting at `bytes[0]` to a new float32 array.
 * Integers beyond 2^24 lose precision, which is harmless for the index buffers BERT stores.
 */
export function decodeElements(
  bytes: Uint8Array,
  dtype: ElementDtype,
  count: number,
): Float32Array {
  const need = count * ELEMENT_SIZE[dtype];
  if (bytes.byteLength < need)
    throw new Error(`need ${need} bytes for ${count} ${dtype} elements, have ${bytes.byteLength}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, need);
  const out = new Float32Array(count);
  switch (dtype) {
    case 'float32':
      // A byte copy into the fresh array is the fast path (host is little-endian, checked below).
      if (LITTLE_ENDIAN) new Uint8Array(out.buffer).set(bytes.subarray(0, need));
      else for (let i = 0; i < count; i++) out[i] = view.getFloat32(i * 4, true);
      break;
    case 'float16': {
      const table = halfToFloatTable();
      for (let i = 0; i < count; i++) out[i] = table[view.getUint16(i * 2, true)]!;
      break;
    }
    case 'bfloat16': {
      // Native-order integer writes read back as native floats, so this is endian-neutral.
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < count; i++) bits[i] = view.getUint16(i * 2, true) << 16;
      break;
    }
    case 'float64':
      for (let i = 0; i < count; i++) out[i] = view.getFloat64(i * 8, true);
      break;
    case 'int64':
      for (let i = 0; i < count; i++) out[i] = Number(view.getBigInt64(i * 8, true));
      break;
    case 'int32':
      for (let i = 0; i < count; i++) out[i] = view.getInt32(i * 4, true);
      break;
    case 'int16':
      for (let i = 0; i < count; i++) out[i] = view.getInt16(i * 2, true);
      break;
    case 'int8':
      for (let i = 0; i < count; i++) out[i] = view.getInt8(i);
      break;
    case 'uint8':
    case 'bool':
      for (let i = 0; i < count; i++) out[i] = view.getUint8(i);
      break;
  }
  return out;
}

/** Float32 data as little-endian bytes, for writers (a view on little-endian hosts). */
export function float32ToLittleEndianBytes(data: Float32Array): Uint8Array {
  if (LITTLE_ENDIAN) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const bytes = new Uint8Array(data.byteLength);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < data.length; i++) view.setFloat32(i * 4, data[i]!, true);
  return bytes;
}
