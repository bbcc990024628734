;; The all-reduce's per-element work with WebAssembly SIMD, on this module's own memory: the
;; reduction, and the fp16/bf16 wire formats' encoding and decoding.
;; V8 runs `block[i] += incoming[i]` on Float32Arrays as scalar code (float32 -> float64 ->
;; float32 per element, ~1.5-2.5 ns per element measured here), and the half conversions as
;; scalar bit operations (~4 ns per element and pass); these kernels do four lanes at once.
;; The caller copies operands into this memory and results back out, which still costs less.
;; The arithmetic is one IEEE float32 add per element, as in JS (a float64 sum of two float32s
;; rounds to the same float32), and the conversions round to nearest even as the scalar
;; reference does (test/support/half-reference.ts: same bits, NaN stays a quiet NaN).
;; Lengths are rounded up to whole vectors: the caller pads its buffers.
;; (The conversions are written out in each loop: V8 does not inline calls between wasm
;; functions. Comparisons are on magnitudes, so signed ones give the unsigned answer, and
;; SSE has only signed ones.)
(module
  (memory (export "memory") 1)

  ;; b[i] = a[i] + b[i] for the float32s at byte offsets $a and $b; $bytes rounded up to 64.
  (func (export "addInto") (param $b i32) (param $a i32) (param $bytes i32)
    (local $end i32)
    (local.set $end (i32.add (local.get $b) (local.get $bytes)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $b) (local.get $end)))
        (v128.store (local.get $b)
          (f32x4.add (v128.load (local.get $a)) (v128.load (local.get $b))))
        (v128.store offset=16 (local.get $b)
          (f32x4.add (v128.load offset=16 (local.get $a)) (v128.load offset=16 (local.get $b))))
        (v128.store offset=32 (local.get $b)
          (f32x4.add (v128.load offset=32 (local.get $a)) (v128.load offset=32 (local.get $b))))
        (v128.store offset=48 (local.get $b)
          (f32x4.add (v128.load offset=48 (local.get $a)) (v128.load offset=48 (local.get $b))))
        (local.set $a (i32.add (local.get $a) (i32.const 64)))
        (local.set $b (i32.add (local.get $b) (i32.const 64)))
        (br $next))))

  ;; dst (16-bit words) = Fp16 of src (float32), $n elements rounded up to 4.
  (func (export "encodeFp16") (param $dst i32) (param $src i32) (param $n i32)
    (local $end i32) (local $x v128) (local $u v128) (local $r v128)
    (local.set $end (i32.add (local.get $dst) (i32.shl (local.get $n) (i32.const 1))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $dst) (local.get $end)))
        ;; float32 bits -> fp16 bits (F. Giesen's float_to_half_fast3_rtne): normal results
        ;; add the rounding increment (a carry into the exponent is right, up to Infinity);
        ;; subnormal ones come from adding 0.5, which rounds the mantissa at the right bit.
        (local.set $x (v128.load (local.get $src)))
        (local.set $u (v128.and (local.get $x) (i32x4.splat (i32.const 0x7fffffff))))
        (local.set $r
          (i32x4.shr_u
            (i32x4.add
              (i32x4.add (local.get $u) (i32x4.splat (i32.const 0xc8000fff)))
              (v128.and (i32x4.shr_u (local.get $u) (i32.const 13)) (i32x4.splat (i32.const 1))))
            (i32.const 13)))
        (local.set $r
          (v128.bitselect
            (i32x4.sub
              (f32x4.add (local.get $u) (f32x4.splat (f32.const 0.5)))
              (i32x4.splat (i32.const 0x3f000000)))
            (local.get $r)
            (i32x4.lt_s (local.get $u) (i32x4.splat (i32.const 0x38800000)))))
        (local.set $r
          (v128.bitselect
            (i32x4.splat (i32.const 0x7c00))
            (local.get $r)
            (i32x4.ge_s (local.get $u) (i32x4.splat (i32.const 0x47800000)))))
        (local.set $r
          (v128.bitselect
            (i32x4.splat (i32.const 0x7e00))
            (local.get $r)
            (i32x4.gt_s (local.get $u) (i32x4.splat (i32.const 0x7f800000)))))
        (local.set $r
          (v128.or (local.get $r)
            (v128.and (i32x4.shr_u (local.get $x) (i32.const 16)) (i32x4.splat (i32.const 0x8000)))))
        (v128.store64_lane 0 (local.get $dst) (i16x8.narrow_i32x4_u (local.get $r) (local.get $r)))
        (local.set $src (i32.add (local.get $src) (i32.const 16)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 8)))
        (br $next))))
  ;; dst (16-bit words) = Bf16 of src (float32), $n elements rounded up to 4.
  (func (export "encodeBf16") (param $dst i32) (param $src i32) (param $n i32)
    (local $end i32) (local $x v128) (local $u v128) (local $r v128)
    (local.set $end (i32.add (local.get $dst) (i32.shl (local.get $n) (i32.const 1))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $dst) (local.get $end)))
        ;; float32 bits -> bfloat16 bits: round to nearest even; NaN stays quiet.
        (local.set $x (v128.load (local.get $src)))
        (local.set $r
          (v128.bitselect
            (v128.or (i32x4.shr_u (local.get $x) (i32.const 16)) (i32x4.splat (i32.const 0x40)))
            (i32x4.shr_u
              (i32x4.add
                (i32x4.add (local.get $x) (i32x4.splat (i32.const 0x7fff)))
                (v128.and (i32x4.shr_u (local.get $x) (i32.const 16)) (i32x4.splat (i32.const 1))))
              (i32.const 16))
            (i32x4.gt_s
              (v128.and (local.get $x) (i32x4.splat (i32.const 0x7fffffff)))
              (i32x4.splat (i32.const 0x7f800000)))))
        (v128.store64_lane 0 (local.get $dst) (i16x8.narrow_i32x4_u (local.get $r) (local.get $r)))
        (local.set $src (i32.add (local.get $src) (i32.const 16)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 8)))
        (br $next))))
  ;; dst (float32) = the values of src (Fp16 words), $n elements rounded up to 4.
  (func (export "decodeFp16") (param $dst i32) (param $src i32) (param $n i32)
    (local $end i32) (local $h v128) (local $v v128) (local $exp v128)
    (local.set $end (i32.add (local.get $src) (i32.shl (local.get $n) (i32.const 1))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $src) (local.get $end)))
        ;; fp16 bits -> float32 (F. Giesen's half_to_float): move exponent and mantissa into
        ;; place and rebias; Inf/NaN get the rest of the exponent, and subnormals are
        ;; renormalised by a float subtraction.
        (local.set $h (i32x4.extend_low_i16x8_u (v128.load64_zero (local.get $src))))
        (local.set $v (i32x4.shl (v128.and (local.get $h) (i32x4.splat (i32.const 0x7fff))) (i32.const 13)))
        (local.set $exp (v128.and (local.get $v) (i32x4.splat (i32.const 0x0f800000))))
        (local.set $v (i32x4.add (local.get $v) (i32x4.splat (i32.const 0x38000000))))
        (local.set $v
          (v128.bitselect
            (i32x4.add (local.get $v) (i32x4.splat (i32.const 0x38000000)))
            (local.get $v)
            (i32x4.eq (local.get $exp) (i32x4.splat (i32.const 0x0f800000)))))
        (local.set $v
          (v128.bitselect
            (f32x4.sub
              (i32x4.add (local.get $v) (i32x4.splat (i32.const 0x00800000)))
              (i32x4.splat (i32.const 0x38800000)))
            (local.get $v)
            (i32x4.eq (local.get $exp) (i32x4.splat (i32.const 0)))))
        (local.set $v
          (v128.or (local.get $v)
            (i32x4.shl (v128.and (local.get $h) (i32x4.splat (i32.const 0x8000))) (i32.const 16))))
        (v128.store (local.get $dst) (local.get $v))
        (local.set $src (i32.add (local.get $src) (i32.const 8)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
        (br $next))))
  ;; dst (float32) = the values of src (Bf16 words), $n elements rounded up to 4.
  (func (export "decodeBf16") (param $dst i32) (param $src i32) (param $n i32)
    (local $end i32) (local $h v128) (local $v v128) (local $exp v128)
    (local.set $end (i32.add (local.get $src) (i32.shl (local.get $n) (i32.const 1))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $src) (local.get $end)))
        ;; bfloat16 bits -> float32: the upper half of the float32 bits.
        (local.set $v
          (i32x4.shl (i32x4.extend_low_i16x8_u (v128.load64_zero (local.get $src))) (i32.const 16)))
        (v128.store (local.get $dst) (local.get $v))
        (local.set $src (i32.add (local.get $src) (i32.const 8)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
        (br $next))))
  ;; b[i] = value(a[i]) + b[i] for src (Into words), $n elements rounded up to 4.
  (func (export "addFp16Into") (param $dst i32) (param $src i32) (param $n i32)
    (local $end i32) (local $h v128) (local $v v128) (local $exp v128)
    (local.set $end (i32.add (local.get $src) (i32.shl (local.get $n) (i32.const 1))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $src) (local.get $end)))
        ;; fp16 bits -> float32 (F. Giesen's half_to_float): move exponent and mantissa into
        ;; place and rebias; Inf/NaN get the rest of the exponent, and subnormals are
        ;; renormalised by a float subtraction.
        (local.set $h (i32x4.extend_low_i16x8_u (v128.load64_zero (local.get $src))))
        (local.set $v (i32x4.shl (v128.and (local.get $h) (i32x4.splat (i32.const 0x7fff))) (i32.const 13)))
        (local.set $exp (v128.and (local.get $v) (i32x4.splat (i32.const 0x0f800000))))
        (local.set $v (i32x4.add (local.get $v) (i32x4.splat (i32.const 0x38000000))))
        (local.set $v
          (v128.bitselect
            (i32x4.add (local.get $v) (i32x4.splat (i32.const 0x38000000)))
            (local.get $v)
            (i32x4.eq (local.get $exp) (i32x4.splat (i32.const 0x0f800000)))))
        (local.set $v
          (v128.bitselect
            (f32x4.sub
              (i32x4.add (local.get $v) (i32x4.splat (i32.const 0x00800000)))
              (i32x4.splat (i32.const 0x38800000)))
            (local.get $v)
            (i32x4.eq (local.get $exp) (i32x4.splat (i32.const 0)))))
        (local.set $v
          (v128.or (local.get $v)
            (i32x4.shl (v128.and (local.get $h) (i32x4.splat (i32.const 0x8000))) (i32.const 16))))
        (v128.store (local.get $dst) (f32x4.add (local.get $v) (v128.load (local.get $dst))))
        (local.set $src (i32.add (local.get $src) (i32.const 8)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
        (br $next))))
  ;; b[i] = value(a[i]) + b[i] for src (Into words), $n elements rounded up to 4.
  (func (export "addBf16Into") (param $dst i32) (param $src i32) (param $n i32)
    (local $end i32) (local $h v128) (local $v v128) (local $exp v128)
    (local.set $end (i32.add (local.get $src) (i32.shl (local.get $n) (i32.const 1))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $src) (local.get $end)))
        ;; bfloat16 bits -> float32: the upper half of the float32 bits.
        (local.set $v
          (i32x4.shl (i32x4.extend_low_i16x8_u (v128.load64_zero (local.get $src))) (i32.const 16)))
        (v128.store (local.get $dst) (f32x4.add (local.get $v) (v128.load (local.get $dst))))
        (local.set $src (i32.add (local.get $src) (i32.const 8)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
        (br $next))))
)
