/**
 * All-reduce of row-sparse gradients, such as a word-embedding gradient: a batch touches only
 * the rows of the token ids it holds (~600 of 30522 for a BERT vocabulary), so a dense
 * all-reduce would mostly carry zeros. The ranks exchange bitmaps of the rows they touched and
 * all-reduce only the rows of the union, packed back to back.
 *
 * Why the result equals the dense all-reduce: every union row is reduced elementwise by the
 * same collective (op, wire) from every rank's own values, zero or not, and a row outside the
 * union is zero on every rank, which the dense reduction would have left zero. With 2 ranks and
 * an fp32 wire the bits are identical (a + b = b + a). With more ranks the ring's summation
 * order depends on an element's position in the buffer, and with a half wire so does which
 * rank's contribution is rounded on the wire, so those agree with the dense result only to
 * rounding; every rank still ends bit-identical, as with any all-reduce.
 */
import {
  ProtocolError,
  type ProcessGroup,
  type ReduceOp,
  type WireDType,
} from './process-group.js';

/** Row count of a gradient of `length` elements in rows of `width`; throws when they do not fit. */
export function rowCount(length: number, width: number, name = 'gradient'): number {
  if (!Number.isInteger(width) || width <= 0)
    throw new RangeError(`row width ${width} of '${name}' must be a positive integer`);
  if (length % width !== 0)
    throw new RangeError(
      `'${name}' has ${length} elements, not a whole number of rows of ${width}`,
    );
  return length / width;
}

/** Bitmap (bit r % 8 of byte r >> 3) of the rows of `grad` holding a nonzero (or NaN) value. */
export function touchedRows(grad: Float32Array, width: number): Uint8Array {
  const rows = rowCount(grad.length, width);
  const bitmap = new Uint8Array(Math.ceil(rows / 8));
  for (let r = 0, start = 0; r < rows; r++, start += width) {
    // -0 counts as zero: such a row ends +0, the dense sum's zero up to its sign.
    for (let i = start; i < start + width; i++)
      if (grad[i] !== 0) {
        bitmap[r >> 3] |= 1 << (r & 7);
        break;
      }
  }
  return bitmap;
}

/** Ascending row ids set in any of the bitmaps (one per rank, all of the same length). */
export function unionRows(bitmaps: readonly Uint8Array[]): Uint32Array {
  const bytes = bitmaps[0].length;
  const union = new Uint8Array(bytes);
  bitmaps.forEach((bitmap, rank) => {
    if (bitmap.length !== bytes)
      throw new ProtocolError(
        `rank ${rank} sent a row bitmap of ${bitmap.length} bytes, rank 0 one of ${bytes}: the ranks disagree on the gradient's shape`,
      );
    for (let i = 0; i < bytes; i++) union[i] |= bitmap[i];
  });
  let count = 0;
  for (let i = 0; i < bytes; i++) for (let b = union[i]; b !== 0; b &= b - 1) count++;
  const rows = new Uint32Array(count);
  let k = 0;
  for (let i = 0; i < bytes; i++) {
    if (union[i] === 0) continue;
    for (let bit = 0; bit < 8; bit++) if (union[i] & (1 << bit)) rows[k++] = i * 8 + bit;
  }
  return rows;
}

/** Rows `rows` of `grad`, back to back. */
export function packRows(grad: Float32Array, width: number, rows: Uint32Array): Float32Array {
  const packed = new Float32Array(rows.length * width);
  for (let k = 0; k < rows.length; k++) {
    const start = rows[k] * width;
    packed.set(grad.subarray(start, start + width), k * width);
  }
  return packed;
}

/** Writes packed rows back into `grad` and sets every other row to +0. */
export function unpackRows(
  grad: Float32Array,
  width: number,
  rows: Uint32Array,
  packed: Float32Array,
): void {
  let next = 0;
  for (let k = 0; k < rows.length; k++) {
    const start = rows[k] * width;
    grad.fill(0, next, start);
    grad.set(packed.subarray(k * width, (k + 1) * width), start);
    next = start + width;
  }
  grad.fill(0, next);
}

/**
 * All-reduces a row-sparse gradient in place: an all-gather of row bitmaps, then one
 * all-reduce of the union's rows (none when no rank touched a row). Every rank must call it
 * at the same point with a gradient of the same shape. Returns the number of union rows (0 in
 * a world of one, where the gradient is left as it is).
 */
export async function allReduceRowSparse(
  group: ProcessGroup,
  grad: Float32Array,
  width: number,
  op: ReduceOp = 'mean',
  wire: WireDType = 'fp32',
): Promise<number> {
  rowCount(grad.length, width);
  if (group.worldSize === 1) return 0;
  const rows = unionRows(await group.allGatherBytes(touchedRows(grad, width)));
  if (rows.length === 0) {
    grad.fill(0);
    return 0;
  }
  const packed = packRows(grad, width, rows);
  await group.allReduce(packed, op, { wire });
  unpackRows(grad, width, rows, packed);
  return rows.length;
}
