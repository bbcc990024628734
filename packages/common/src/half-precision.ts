/**
 * IEEE binary16 (fp16) and bfloat16 encoding of float32 values, round-to-nearest-even, for the
 * reduced-precision wire formats of all-reduce. NaN stays NaN; overflow becomes ±Infinity.
 */

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** float32 → bfloat16 bits (round to nearest, ties to even). */
export function float32ToBf16Bits(value: number): number {
  f32[0] = value;
  return bitsToBf16(u32[0]);
}

function bitsToBf16(bits: number): number {
  if ((bits & 0x7f800000) === 0x7f800000 && (bits & 0x007fffff) !== 0)
    return (bits >>> 16) | 0x0040; // quiet NaN
  const lsb = (bits >>> 16) & 1;
  return ((bits + 0x7fff + lsb) >>> 16) & 0xffff;
}

/** bfloat16 bits → float32 value (exact). */
export function bf16BitsToFloat32(bits: number): number {
  u32[0] = (bits & 0xffff) << 16;
  return f32[0];
}

/** float32 → fp16 bits (round to nearest, ties to even; subnormals kept). */
export function float32ToFp16Bits(value: number): number {
  f32[0] = value;
  return bitsToFp16(u32[0]);
}

function bitsToFp16(bits: number): number {
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  let mant = bits & 0x007fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x0200 : 0); // Inf / NaN
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // overflow
  if (e <= 0) {
    // Subnormal in fp16 (or zero): shift the implicit-1 mantissa right by 14 - e bits.
    if (e < -10) return sign;
    mant |= 0x00800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    const rest = mant & ((1 << shift) - 1);
    let out = mant >>> shift;
    if (rest > half || (rest === half && (out & 1) === 1)) out += 1;
    return sign | out; // a carry into the exponent field is the correct result
  }
  let out = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (out & 1) === 1)) out += 1; // may carry to Inf: correct
  return sign | out;
}

/** fp16 bits → float32 value (exact). */
export function fp16BitsToFloat32(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >>> 10) & 0x1f;
  const mant = bits & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant === 0 ? sign * Infinity : NaN;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

// Bulk conversions work on the float32 bits (a Uint32Array view) and decode fp16 through a
// table of all 65536 values: the per-element paths above cost ~10x more per value, which
// made the half-precision wire slower than fp32 (bench/results/allreduce-half.json).
let fp16Table: Float32Array | undefined;
function fp16Values(): Float32Array {
  if (!fp16Table) {
    fp16Table = new Float32Array(65536);
    for (let b = 0; b < 65536; b++) fp16Table[b] = fp16BitsToFloat32(b);
  }
  return fp16Table;
}

const bitsOf = (a: Float32Array): Uint32Array => new Uint32Array(a.buffer, a.byteOffset, a.length);

/** Encodes `src` into `out` (16-bit words) in the given half format. */
export function encodeHalf(src: Float32Array, out: Uint16Array, format: 'fp16' | 'bf16'): void {
  const bits = bitsOf(src);
  if (format === 'fp16') for (let i = 0; i < bits.length; i++) out[i] = bitsToFp16(bits[i]);
  else for (let i = 0; i < bits.length; i++) out[i] = bitsToBf16(bits[i]);
}

/** Decodes 16-bit words `src` into `out` from the given half format. */
export function decodeHalf(src: Uint16Array, out: Float32Array, format: 'fp16' | 'bf16'): void {
  if (format === 'fp16') {
    const table = fp16Values();
    for (let i = 0; i < src.length; i++) out[i] = table[src[i]];
  } else {
    const bits = bitsOf(out);
    for (let i = 0; i < src.length; i++) bits[i] = src[i] << 16;
  }
}

/** Rounds `data` in place to the nearest value representable in the half format. */
export function roundToHalf(data: Float32Array, format: 'fp16' | 'bf16'): void {
  const bits = bitsOf(data);
  if (format === 'fp16') {
    const table = fp16Values();
    for (let i = 0; i < bits.length; i++) data[i] = table[bitsToFp16(bits[i])];
  } else for (let i = 0; i < bits.length; i++) bits[i] = bitsToBf16(bits[i]) << 16;
}
