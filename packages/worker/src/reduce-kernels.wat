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
;; (Comparisons are on magnitudes, so signed ones give the unsigned answer; SSE has only
;; signed ones.)
(module
  (memory (export "memory") 1)

  ;; b[i] = a[i] + b[i] for the float32s at byte offsets $a and $b; $n rounded up to 16.
  (func (export "addInto") (param $b i32) (param $a i32) (param $n i32)
    (local $end i32)
    (local.set $end (i32.add (local.get $b) (i32.shl (local.get $n) (i32.const 2))))
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

  ;; b[i] = b[i] / $divisor (a mean's last step; float32 division rounds as JS's float64 one
  ;; does for float32 operands); $n rounded up to 4.
  (func (export "divideBy") (param $b i32) (param $divisor f32) (param $n i32)
    (local $end i32) (local $d v128)
    (local.set $end (i32.add (local.get $b) (i32.shl (local.get $n) (i32.const 2))))
    (local.set $d (f32x4.splat (local.get $divisor)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $b) (local.get $end)))
        (v128.store (local.get $b) (f32x4.div (v128.load (local.get $b)) (local.get $d)))
        (local.set $b (i32.add (local.get $b) (i32.const 16)))
        (br $next))))

  ;; The conversions, eight elements a turn (two vectors, one 16-byte store of words).
  ;; float32 -> fp16 follows F. Giesen's float_to_half_fast3_rtne: normal results add the
  ;; rounding increment (a carry into the exponent is right, up to Infinity); subnormal ones
  ;; come from adding 0.5, which rounds the mantissa at the right bit; from 2^16 up Infinity,
  ;; NaN (above Infinity's bits) a quiet NaN. fp16 -> float32 follows his half_to_float: move
  ;; exponent and mantissa into place and rebias; Inf/NaN get the rest of the exponent, and
  ;; subnormals are renormalised by a float subtraction. bfloat16 is the upper half of the
  ;; float32 bits, rounded to nearest even. Each conversion is written out once per vector,
  ;; two vectors a turn (against one: fp16 encoding 1.7 -> 1.15 ns per element in a loop over
  ;; a cached 64 KiB chunk). Constants are set in locals once per call.

  ;; dst (16-bit words) = fp16 of src (float32), $n elements rounded up to 8.
  (func (export "encodeFp16") (param $dst i32) (param $src i32) (param $n i32)
    (local $end i32) (local $x v128) (local $y v128) (local $u v128) (local $r v128) (local $r2 v128)
    (local $k7fffffff v128) (local $kc8000fff v128) (local $k1 v128) (local $k3f000000 v128) (local $k38800000 v128) (local $k7c00 v128) (local $k477fffff v128) (local $k7f800000 v128) (local $k200 v128) (local $k8000 v128) (local $half v128)
    (local.set $k7fffffff (v128.const i32x4 0x7fffffff 0x7fffffff 0x7fffffff 0x7fffffff))
    (local.set $kc8000fff (v128.const i32x4 0xc8000fff 0xc8000fff 0xc8000fff 0xc8000fff))
    (local.set $k1 (v128.const i32x4 1 1 1 1))
    (local.set $k3f000000 (v128.const i32x4 0x3f000000 0x3f000000 0x3f000000 0x3f000000))
    (local.set $k38800000 (v128.const i32x4 0x38800000 0x38800000 0x38800000 0x38800000))
    (local.set $k7c00 (v128.const i32x4 0x7c00 0x7c00 0x7c00 0x7c00))
    (local.set $k477fffff (v128.const i32x4 0x477fffff 0x477fffff 0x477fffff 0x477fffff))
    (local.set $k7f800000 (v128.const i32x4 0x7f800000 0x7f800000 0x7f800000 0x7f800000))
    (local.set $k200 (v128.const i32x4 0x200 0x200 0x200 0x200))
    (local.set $k8000 (v128.const i32x4 0x8000 0x8000 0x8000 0x8000))
    (local.set $half (v128.const f32x4 0.5 0.5 0.5 0.5))
    (local.set $end (i32.add (local.get $dst) (i32.shl (local.get $n) (i32.const 1))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $dst) (local.get $end)))
        (local.set $x (v128.load (local.get $src)))
        (local.set $y (v128.load offset=16 (local.get $src)))
        (local.set $u (v128.and (local.get $x) (local.get $k7fffffff)))
        (local.set $r
          (i32x4.shr_u
            (i32x4.add
              (i32x4.add (local.get $u) (local.get $kc8000fff))
              (v128.and (i32x4.shr_u (local.get $u) (i32.const 13)) (local.get $k1)))
            (i32.const 13)))
        (local.set $r
          (v128.bitselect
            (i32x4.sub (f32x4.add (local.get $u) (local.get $half)) (local.get $k3f000000))
            (local.get $r)
            (i32x4.lt_s (local.get $u) (local.get $k38800000))))
        (local.set $r
          (v128.bitselect (local.get $k7c00) (local.get $r) (i32x4.gt_s (local.get $u) (local.get $k477fffff))))
        (local.set $r
          (v128.or
            (v128.or (local.get $r)
              (v128.and (i32x4.gt_s (local.get $u) (local.get $k7f800000)) (local.get $k200)))
            (v128.and (i32x4.shr_u (local.get $x) (i32.const 16)) (local.get $k8000))))
        (local.set $u (v128.and (local.get $y) (local.get $k7fffffff)))
        (local.set $r2
          (i32x4.shr_u
            (i32x4.add
              (i32x4.add (local.get $u) (local.get $kc8000fff))
              (v128.and (i32x4.shr_u (local.get $u) (i32.const 13)) (local.get $k1)))
            (i32.const 13)))
        (local.set $r2
          (v128.bitselect
            (i32x4.sub (f32x4.add (local.get $u) (local.get $half)) (local.get $k3f000000))
            (local.get $r2)
            (i32x4.lt_s (local.get $u) (local.get $k38800000))))
        (local.set $r2
          (v128.bitselect (local.get $k7c00) (local.get $r2) (i32x4.gt_s (local.get $u) (local.get $k477fffff))))
        (local.set $r2
          (v128.or
            (v128.or (local.get $r2)
              (v128.and (i32x4.gt_s (local.get $u) (local.get $k7f800000)) (local.get $k200)))
            (v128.and (i32x4.shr_u (local.get $y) (i32.const 16)) (local.get $k8000))))
        (v128.store (local.get $dst) (i16x8.narrow_i32x4_u (local.get $r) (local.get $r2)))
        (local.set $src (i32.add (local.get $src) (i32.const 32)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
        (br $next))))
  ;; dst (16-bit words) = bf16 of src (float32), $n elements rounded up to 8.
  (func (export "encodeBf16") (param $dst i32) (param $src i32) (param $n i32)
    (local $end i32) (local $x v128) (local $y v128) (local $u v128) (local $r v128) (local $r2 v128)
    (local $k7fffffff v128) (local $k1 v128) (local $k7f800000 v128) (local $k40 v128) (local $k7fff v128)
    (local.set $k7fffffff (v128.const i32x4 0x7fffffff 0x7fffffff 0x7fffffff 0x7fffffff))
    (local.set $k1 (v128.const i32x4 1 1 1 1))
    (local.set $k7f800000 (v128.const i32x4 0x7f800000 0x7f800000 0x7f800000 0x7f800000))
    (local.set $k40 (v128.const i32x4 0x40 0x40 0x40 0x40))
    (local.set $k7fff (v128.const i32x4 0x7fff 0x7fff 0x7fff 0x7fff))
    (local.set $end (i32.add (local.get $dst) (i32.shl (local.get $n) (i32.const 1))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $dst) (local.get $end)))
        (local.set $x (v128.load (local.get $src)))
        (local.set $y (v128.load offset=16 (local.get $src)))
        (local.set $r
          (v128.bitselect
            (v128.or (i32x4.shr_u (local.get $x) (i32.const 16)) (local.get $k40))
            (i32x4.shr_u
              (i32x4.add
                (i32x4.add (local.get $x) (local.get $k7fff))
                (v128.and (i32x4.shr_u (local.get $x) (i32.const 16)) (local.get $k1)))
              (i32.const 16))
            (i32x4.gt_s (v128.and (local.get $x) (local.get $k7fffffff)) (local.get $k7f800000))))
        (local.set $r2
          (v128.bitselect
            (v128.or (i32x4.shr_u (local.get $y) (i32.const 16)) (local.get $k40))
            (i32x4.shr_u
              (i32x4.add
                (i32x4.add (local.get $y) (local.get $k7fff))
                (v128.and (i32x4.shr_u (local.get $y) (i32.const 16)) (local.get $k1)))
              (i32.const 16))
            (i32x4.gt_s (v128.and (local.get $y) (local.get $k7fffffff)) (local.get $k7f800000))))
        (v128.store (local.get $dst) (i16x8.narrow_i32x4_u (local.get $r) (local.get $r2)))
        (local.set $src (i32.add (local.get $src) (i32.const 32)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
        (br $next))))
  ;; dst (float32) = the values of src (fp16 words), $n elements rounded up to 8.
  (func (export "decodeFp16") (param $dst i32) (param $src i32) (param $n i32)
    (local $end i32) (local $w v128) (local $h v128) (local $h2 v128) (local $v v128) (local $v2 v128) (local $exp v128)
    (local $k38800000 v128) (local $k8000 v128) (local $k7fff v128) (local $k0f800000 v128) (local $k38000000 v128) (local $k00800000 v128)
    (local.set $k38800000 (v128.const i32x4 0x38800000 0x38800000 0x38800000 0x38800000))
    (local.set $k8000 (v128.const i32x4 0x8000 0x8000 0x8000 0x8000))
    (local.set $k7fff (v128.const i32x4 0x7fff 0x7fff 0x7fff 0x7fff))
    (local.set $k0f800000 (v128.const i32x4 0x0f800000 0x0f800000 0x0f800000 0x0f800000))
    (local.set $k38000000 (v128.const i32x4 0x38000000 0x38000000 0x38000000 0x38000000))
    (local.set $k00800000 (v128.const i32x4 0x00800000 0x00800000 0x00800000 0x00800000))
    (local.set $end (i32.add (local.get $src) (i32.shl (local.get $n) (i32.const 1))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $src) (local.get $end)))
        (local.set $w (v128.load (local.get $src)))
        (local.set $h (i32x4.extend_low_i16x8_u (local.get $w)))
        (local.set $h2 (i32x4.extend_high_i16x8_u (local.get $w)))
        (local.set $v (i32x4.shl (v128.and (local.get $h) (local.get $k7fff)) (i32.const 13)))
        (local.set $exp (v128.and (local.get $v) (local.get $k0f800000)))
        (local.set $v (i32x4.add (local.get $v) (local.get $k38000000)))
        (local.set $v
          (v128.bitselect
            (i32x4.add (local.get $v) (local.get $k38000000))
            (local.get $v)
            (i32x4.eq (local.get $exp) (local.get $k0f800000))))
        (local.set $v
          (v128.bitselect
            (f32x4.sub (i32x4.add (local.get $v) (local.get $k00800000)) (local.get $k38800000))
            (local.get $v)
            (i32x4.eq (local.get $exp) (v128.const i32x4 0 0 0 0))))
        (local.set $v
          (v128.or (local.get $v)
            (i32x4.shl (v128.and (local.get $h) (local.get $k8000)) (i32.const 16))))
        (local.set $v2 (i32x4.shl (v128.and (local.get $h2) (local.get $k7fff)) (i32.const 13)))
        (local.set $exp (v128.and (local.get $v2) (local.get $k0f800000)))
        (local.set $v2 (i32x4.add (local.get $v2) (local.get $k38000000)))
        (local.set $v2
          (v128.bitselect
            (i32x4.add (local.get $v2) (local.get $k38000000))
            (local.get $v2)
            (i32x4.eq (local.get $exp) (local.get $k0f800000))))
        (local.set $v2
          (v128.bitselect
            (f32x4.sub (i32x4.add (local.get $v2) (local.get $k00800000)) (local.get $k38800000))
            (local.get $v2)
            (i32x4.eq (local.get $exp) (v128.const i32x4 0 0 0 0))))
        (local.set $v2
          (v128.or (local.get $v2)
            (i32x4.shl (v128.and (local.get $h2) (local.get $k8000)) (i32.const 16))))
        (v128.store (local.get $dst) (local.get $v))
        (v128.store offset=16 (local.get $dst) (local.get $v2))
        (local.set $src (i32.add (local.get $src) (i32.const 16)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 32)))
        (br $next))))
  ;; dst (float32) = the values of src (bf16 words), $n elements rounded up to 8.
  (func (export "decodeBf16") (param $dst i32) (param $src i32) (param $n i32)
    (local $end i32) (local $w v128) (local $h v128) (local $h2 v128) (local $v v128) (local $v2 v128) (local $exp v128)
    

    (local.set $end (i32.add (local.get $src) (i32.shl (local.get $n) (i32.const 1))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $src) (local.get $end)))
        (local.set $w (v128.load (local.get $src)))
        (local.set $h (i32x4.extend_low_i16x8_u (local.get $w)))
        (local.set $h2 (i32x4.extend_high_i16x8_u (local.get $w)))
        (local.set $v (i32x4.shl (local.get $h) (i32.const 16)))
        (local.set $v2 (i32x4.shl (local.get $h2) (i32.const 16)))
        (v128.store (local.get $dst) (local.get $v))
        (v128.store offset=16 (local.get $dst) (local.get $v2))
        (local.set $src (i32.add (local.get $src) (i32.const 16)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 32)))
        (br $next))))
  ;; b[i] = value(a[i]) + b[i] for src (fp16 words), $n elements rounded up to 8.
  (func (export "addFp16Into") (param $dst i32) (param $src i32) (param $n i32)
    (local $end i32) (local $w v128) (local $h v128) (local $h2 v128) (local $v v128) (local $v2 v128) (local $exp v128)
    (local $k38800000 v128) (local $k8000 v128) (local $k7fff v128) (local $k0f800000 v128) (local $k38000000 v128) (local $k00800000 v128)
    (local.set $k38800000 (v128.const i32x4 0x38800000 0x38800000 0x38800000 0x38800000))
    (local.set $k8000 (v128.const i32x4 0x8000 0x8000 0x8000 0x8000))
    (local.set $k7fff (v128.const i32x4 0x7fff 0x7fff 0x7fff 0x7fff))
    (local.set $k0f800000 (v128.const i32x4 0x0f800000 0x0f800000 0x0f800000 0x0f800000))
    (local.set $k38000000 (v128.const i32x4 0x38000000 0x38000000 0x38000000 0x38000000))
    (local.set $k00800000 (v128.const i32x4 0x00800000 0x00800000 0x00800000 0x00800000))
    (local.set $end (i32.add (local.get $src) (i32.shl (local.get $n) (i32.const 1))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $src) (local.get $end)))
        (local.set $w (v128.load (local.get $src)))
        (local.set $h (i32x4.extend_low_i16x8_u (local.get $w)))
        (local.set $h2 (i32x4.extend_high_i16x8_u (local.get $w)))
        (local.set $v (i32x4.shl (v128.and (local.get $h) (local.get $k7fff)) (i32.const 13)))
        (local.set $exp (v128.and (local.get $v) (local.get $k0f800000)))
        (local.set $v (i32x4.add (local.get $v) (local.get $k38000000)))
        (local.set $v
          (v128.bitselect
            (i32x4.add (local.get $v) (local.get $k38000000))
            (local.get $v)
            (i32x4.eq (local.get $exp) (local.get $k0f800000))))
        (local.set $v
          (v128.bitselect
            (f32x4.sub (i32x4.add (local.get $v) (local.get $k00800000)) (local.get $k38800000))
            (local.get $v)
            (i32x4.eq (local.get $exp) (v128.const i32x4 0 0 0 0))))
        (local.set $v
          (v128.or (local.get $v)
            (i32x4.shl (v128.and (local.get $h) (local.get $k8000)) (i32.const 16))))
        (local.set $v2 (i32x4.shl (v128.and (local.get $h2) (local.get $k7fff)) (i32.const 13)))
        (local.set $exp (v128.and (local.get $v2) (local.get $k0f800000)))
        (local.set $v2 (i32x4.add (local.get $v2) (local.get $k38000000)))
        (local.set $v2
          (v128.bitselect
            (i32x4.add (local.get $v2) (local.get $k38000000))
            (local.get $v2)
            (i32x4.eq (local.get $exp) (local.get $k0f800000))))
        (local.set $v2
          (v128.bitselect
            (f32x4.sub (i32x4.add (local.get $v2) (local.get $k00800000)) (local.get $k38800000))
            (local.get $v2)
            (i32x4.eq (local.get $exp) (v128.const i32x4 0 0 0 0))))
        (local.set $v2
          (v128.or (local.get $v2)
            (i32x4.shl (v128.and (local.get $h2) (local.get $k8000)) (i32.const 16))))
        (v128.store (local.get $dst) (f32x4.add (local.get $v) (v128.load (local.get $dst))))
        (v128.store offset=16 (local.get $dst) (f32x4.add (local.get $v2) (v128.load offset=16 (local.get $dst))))
        (local.set $src (i32.add (local.get $src) (i32.const 16)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 32)))
        (br $next))))
  ;; b[i] = value(a[i]) + b[i] for src (bf16 words), $n elements rounded up to 8.
  (func (export "addBf16Into") (param $dst i32) (param $src i32) (param $n i32)
    (local $end i32) (local $w v128) (local $h v128) (local $h2 v128) (local $v v128) (local $v2 v128) (local $exp v128)
    

    (local.set $end (i32.add (local.get $src) (i32.shl (local.get $n) (i32.const 1))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $src) (local.get $end)))
        (local.set $w (v128.load (local.get $src)))
        (local.set $h (i32x4.extend_low_i16x8_u (local.get $w)))
        (local.set $h2 (i32x4.extend_high_i16x8_u (local.get $w)))
        (local.set $v (i32x4.shl (local.get $h) (i32.const 16)))
        (local.set $v2 (i32x4.shl (local.get $h2) (i32.const 16)))
        (v128.store (local.get $dst) (f32x4.add (local.get $v) (v128.load (local.get $dst))))
        (v128.store offset=16 (local.get $dst) (f32x4.add (local.get $v2) (v128.load offset=16 (local.get $dst))))
        (local.set $src (i32.add (local.get $src) (i32.const 16)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 32)))
        (br $next))))
)
