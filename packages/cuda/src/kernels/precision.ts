/** The engine's precisions and what each means for the kernels (the floatX switch) and cuBLASLt. */

/** fp32 (TF32 off, like torch's default), tf32 (allow_tf32), bf16 / fp16 (half activations). */
export type Precision = 'fp32' | 'tf32' | 'bf16' | 'fp16';

/** Every precision, for flag validation. */
export const PRECISIONS: readonly Precision[] = ['fp32', 'tf32', 'bf16', 'fp16'];

/** NVRTC -D options selecting floatX in common.cuh. */
export function floatXDefines(precision: Precision): string[] {
  if (precision === 'bf16') return ['FLOATX_BF16'];
  if (precision === 'fp16') return ['FLOATX_FP16'];
  return [];
}

/** Bytes per floatX element. */
export function floatXBytes(precision: Precision): number {
  return precision === 'bf16' || precision === 'fp16' ? 2 : 4;
}
