/**
 * The per-value reference for the all-reduce's fp16/bf16 wire formats (the product converts in
 * bulk with SIMD: src/reduce-kernels.wat): IEEE binary16 and bfloat16 encoding of float32
 * values, round-to-nearest-even, kept simple enough to check by reading. NaN stays NaN;
 * overflow becomes ±Infinity.
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

// Branch-free in the normal range (the rounding increment is added, and a carry into the
// exponent is the correct result, up to Infinity): ~2x faster than comparing the rest bits.
function bitsToFp16(bits: number): number {
  const sign = (bits >>> 16) & 0x8000;
  const u = bits & 0x7fffffff;
  if (u >= 0x47800000) return sign | (u > 0x7f800000 ? 0x7e00 : 0x7c00); // ≥ 2^16, Inf, NaN
  if (u < 0x38800000) {
    // Below 2^-14: an fp16 subnormal (or zero); the implicit-1 mantissa shifts right by `shift`.
    const exp = u >>> 23;
    if (exp < 102) return sign;
    const mant = (u & 0x007fffff) | 0x00800000;
    const shift = 126 - exp;
    return sign | ((mant + (1 << (shift - 1)) - 1 + ((mant >>> shift) & 1)) >>> shift);
  }
  return sign | ((u - 0x38000000 + 0x0fff + ((u >>> 13) & 1)) >>> 13);
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
