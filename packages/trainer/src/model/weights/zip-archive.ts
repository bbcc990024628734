/**
 * The zip container of `pytorch_model.bin`, read from its central directory with every size
 * bounded before anything is inflated: declared sizes are checked against a cap first, stored
 * entries are views of the file's bytes (no copy), and deflated ones are inflated in small
 * pieces into a buffer of the declared size, failing as soon as the data outgrows it (a zip
 * bomb's declared sizes need not be true). fflate's `unzipSync` trusts the declared sizes and
 * inflates every entry whole, so it is not used here.
 */
import { Inflate } from 'fflate';

/** One entry as the central directory describes it. */
export interface ZipEntry {
  name: string;
  /** 0 stored, 8 deflated (nothing else is read). */
  method: number;
  compressedSize: number;
  size: number;
  /** Offset of the entry's local header in the archive. */
  headerOffset: number;
}

const EOCD = 0x06054b50;
const EOCD64_LOCATOR = 0x07064b50;
const EOCD64 = 0x06064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;
const MAX32 = 0xffffffff;
/** Compressed bytes handed to the inflater at once: bounds one output burst to ~16 MiB. */
const INFLATE_PIECE = 16 * 1024;

function u64(view: DataView, at: number): number {
  const value = view.getBigUint64(at, true);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error('zip size field is out of range');
  return Number(value);
}

/** The entries of the archive's central directory (zip64 included). */
export function listZipEntries(bytes: Uint8Array): ZipEntry[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let eocd = -1;
  for (let at = bytes.length - 22; at >= Math.max(0, bytes.length - 22 - 0xffff); at--)
    if (view.getUint32(at, true) === EOCD) {
      eocd = at;
      break;
    }
  if (eocd < 0) throw new Error('no end-of-central-directory record (truncated zip archive)');
  let count = view.getUint16(eocd + 10, true);
  let offset = view.getUint32(eocd + 16, true);
  if (
    (count === 0xffff || offset === MAX32) &&
    eocd >= 20 &&
    view.getUint32(eocd - 20, true) === EOCD64_LOCATOR
  ) {
    const at = u64(view, eocd - 20 + 8);
    if (at + 56 > bytes.length || view.getUint32(at, true) !== EOCD64)
      throw new Error('zip64 end-of-central-directory record is missing');
    count = u64(view, at + 32);
    offset = u64(view, at + 48);
  }
  const entries: ZipEntry[] = [];
  let at = offset;
  for (let i = 0; i < count; i++) {
    if (at + 46 > bytes.length || view.getUint32(at, true) !== CENTRAL)
      throw new Error(`central directory entry ${i} is malformed or past the end of the file`);
    const nameLength = view.getUint16(at + 28, true);
    const extraLength = view.getUint16(at + 30, true);
    const commentLength = view.getUint16(at + 32, true);
    const name = new TextDecoder().decode(bytes.subarray(at + 46, at + 46 + nameLength));
    let size = view.getUint32(at + 24, true);
    let compressedSize = view.getUint32(at + 20, true);
    let headerOffset = view.getUint32(at + 42, true);
    // Zip64: the 0xffffffff fields are in the 0x0001 extra field, in this order.
    for (let x = at + 46 + nameLength; x + 4 <= at + 46 + nameLength + extraLength;) {
      const id = view.getUint16(x, true);
      const length = view.getUint16(x + 2, true);
      if (id === 0x0001) {
        let field = x + 4;
        if (size === MAX32) {
          size = u64(view, field);
          field += 8;
        }
        if (compressedSize === MAX32) {
          compressedSize = u64(view, field);
          field += 8;
        }
        if (headerOffset === MAX32) headerOffset = u64(view, field);
      }
      x += 4 + length;
    }
    entries.push({
      name,
      method: view.getUint16(at + 10, true),
      compressedSize,
      size,
      headerOffset,
    });
    at += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

/**
 * The bytes of `entry`, at most its declared size: a view for stored entries, a bounded
 * inflate for deflated ones. Callers check the declared size against their own limits first.
 */
export function readZipEntry(bytes: Uint8Array, entry: ZipEntry): Uint8Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const at = entry.headerOffset;
  if (at + 30 > bytes.length || view.getUint32(at, true) !== LOCAL)
    throw new Error(`entry ${entry.name}: local header is malformed or past the end of the file`);
  const start = at + 30 + view.getUint16(at + 26, true) + view.getUint16(at + 28, true);
  if (start + entry.compressedSize > bytes.length)
    throw new Error(
      `entry ${entry.name}: ${entry.compressedSize} bytes declared, the file ends ${bytes.length - start} bytes after its start`,
    );
  const data = bytes.subarray(start, start + entry.compressedSize);
  if (entry.method === 0) {
    if (entry.size !== entry.compressedSize)
      throw new Error(`entry ${entry.name}: stored, but its sizes disagree`);
    return data;
  }
  if (entry.method !== 8)
    throw new Error(`entry ${entry.name}: compression method ${entry.method} is not supported`);
  const out = new Uint8Array(entry.size);
  let written = 0;
  let overflow = false;
  const inflater = new Inflate((chunk) => {
    if (overflow || written + chunk.length > out.length) {
      overflow = true;
      return;
    }
    out.set(chunk, written);
    written += chunk.length;
  });
  for (let piece = 0; piece < data.length && !overflow; piece += INFLATE_PIECE) {
    const end = Math.min(data.length, piece + INFLATE_PIECE);
    inflater.push(data.subarray(piece, end), end === data.length);
  }
  if (overflow)
    throw new Error(
      `entry ${entry.name} inflates to more than the ${entry.size} bytes its header declares`,
    );
  if (written !== entry.size)
    throw new Error(
      `entry ${entry.name} inflates to ${written} bytes, its header declares ${entry.size}`,
    );
  return out;
}
