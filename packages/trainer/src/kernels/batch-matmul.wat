;; Batched float32 matrix product for tfjs-wasm's heap, with WebAssembly SIMD.
;; C[g] = A[g] (M x K) * B[g] (K x N), all row-major and contiguous, for g < G.
;; Arguments are byte offsets into the imported memory (tfjs-wasm's own heap).
;;
;; Why: tfjs-wasm runs every matmul with a batch dimension (attention's scores and context
;; products and their gradients) through a scalar loop at ~1 GFLOP/s; this runs 4 x 8 output
;; tiles with eight f32x4 accumulators. The arithmetic is that loop's, so the results are
;; bit-identical to it: each output sums k in blocks of 48, each block from +0 in k order (one
;; f32 multiply, one f32 add per step), and folds each block in as (total + block) + 0.
(module
  (import "env" "memory" (memory 1 65536))

  ;; 4 rows x 8 columns of C. $kBytes = K*4 (also A's row stride), $nBytes = N*4.
  (func $tile4x8 (param $a i32) (param $b i32) (param $c i32) (param $kBytes i32) (param $nBytes i32)
    (local $k i32) (local $kEnd i32) (local $pb i32) (local $a1 i32) (local $a2 i32) (local $a3 i32)
    (local $c1 i32) (local $c2 i32) (local $c3 i32)
    (local $b0 v128) (local $b1 v128) (local $av v128)
    (local $c00 v128) (local $c01 v128) (local $c10 v128) (local $c11 v128)
    (local $c20 v128) (local $c21 v128) (local $c30 v128) (local $c31 v128)
    (local.set $a1 (i32.add (local.get $a) (local.get $kBytes)))
    (local.set $a2 (i32.add (local.get $a1) (local.get $kBytes)))
    (local.set $a3 (i32.add (local.get $a2) (local.get $kBytes)))
    (local.set $c1 (i32.add (local.get $c) (local.get $nBytes)))
    (local.set $c2 (i32.add (local.get $c1) (local.get $nBytes)))
    (local.set $c3 (i32.add (local.get $c2) (local.get $nBytes)))
    (v128.store (local.get $c) (v128.const i32x4 0 0 0 0))
    (v128.store offset=16 (local.get $c) (v128.const i32x4 0 0 0 0))
    (v128.store (local.get $c1) (v128.const i32x4 0 0 0 0))
    (v128.store offset=16 (local.get $c1) (v128.const i32x4 0 0 0 0))
    (v128.store (local.get $c2) (v128.const i32x4 0 0 0 0))
    (v128.store offset=16 (local.get $c2) (v128.const i32x4 0 0 0 0))
    (v128.store (local.get $c3) (v128.const i32x4 0 0 0 0))
    (v128.store offset=16 (local.get $c3) (v128.const i32x4 0 0 0 0))
    (local.set $pb (local.get $b))
    (block $blocksDone
      (loop $nextBlock
        (br_if $blocksDone (i32.ge_u (local.get $k) (local.get $kBytes)))
        (local.set $kEnd (call $blockEnd (local.get $k) (local.get $kBytes)))
        (local.set $c00 (v128.const i32x4 0 0 0 0))
        (local.set $c01 (v128.const i32x4 0 0 0 0))
        (local.set $c10 (v128.const i32x4 0 0 0 0))
        (local.set $c11 (v128.const i32x4 0 0 0 0))
        (local.set $c20 (v128.const i32x4 0 0 0 0))
        (local.set $c21 (v128.const i32x4 0 0 0 0))
        (local.set $c30 (v128.const i32x4 0 0 0 0))
        (local.set $c31 (v128.const i32x4 0 0 0 0))
        (block $done
          (loop $next
            (br_if $done (i32.ge_u (local.get $k) (local.get $kEnd)))
            (local.set $b0 (v128.load (local.get $pb)))
            (local.set $b1 (v128.load offset=16 (local.get $pb)))
            (local.set $av (v128.load32_splat (i32.add (local.get $a) (local.get $k))))
            (local.set $c00 (f32x4.add (local.get $c00) (f32x4.mul (local.get $av) (local.get $b0))))
            (local.set $c01 (f32x4.add (local.get $c01) (f32x4.mul (local.get $av) (local.get $b1))))
            (local.set $av (v128.load32_splat (i32.add (local.get $a1) (local.get $k))))
            (local.set $c10 (f32x4.add (local.get $c10) (f32x4.mul (local.get $av) (local.get $b0))))
            (local.set $c11 (f32x4.add (local.get $c11) (f32x4.mul (local.get $av) (local.get $b1))))
            (local.set $av (v128.load32_splat (i32.add (local.get $a2) (local.get $k))))
            (local.set $c20 (f32x4.add (local.get $c20) (f32x4.mul (local.get $av) (local.get $b0))))
            (local.set $c21 (f32x4.add (local.get $c21) (f32x4.mul (local.get $av) (local.get $b1))))
            (local.set $av (v128.load32_splat (i32.add (local.get $a3) (local.get $k))))
            (local.set $c30 (f32x4.add (local.get $c30) (f32x4.mul (local.get $av) (local.get $b0))))
            (local.set $c31 (f32x4.add (local.get $c31) (f32x4.mul (local.get $av) (local.get $b1))))
            (local.set $pb (i32.add (local.get $pb) (local.get $nBytes)))
            (local.set $k (i32.add (local.get $k) (i32.const 4)))
            (br $next)))
        (call $fold (local.get $c) (local.get $c00))
        (call $fold (i32.add (local.get $c) (i32.const 16)) (local.get $c01))
        (call $fold (local.get $c1) (local.get $c10))
        (call $fold (i32.add (local.get $c1) (i32.const 16)) (local.get $c11))
        (call $fold (local.get $c2) (local.get $c20))
        (call $fold (i32.add (local.get $c2) (i32.const 16)) (local.get $c21))
        (call $fold (local.get $c3) (local.get $c30))
        (call $fold (i32.add (local.get $c3) (i32.const 16)) (local.get $c31))
        (br $nextBlock))))

  ;; End (in bytes) of the block of at most 48 k values starting at byte $k.
  (func $blockEnd (param $k i32) (param $kBytes i32) (result i32)
    (select (local.get $kBytes) (i32.add (local.get $k) (i32.const 192))
      (i32.lt_u (local.get $kBytes) (i32.add (local.get $k) (i32.const 192)))))

  ;; C[4 floats at $c] = (C + block) + 0.
  (func $fold (param $c i32) (param $block v128)
    (v128.store (local.get $c)
      (f32x4.add (f32x4.add (v128.load (local.get $c)) (local.get $block)) (v128.const i32x4 0 0 0 0))))

  ;; 1 row x 4 columns of C.
  (func $tile1x4 (param $a i32) (param $b i32) (param $c i32) (param $kBytes i32) (param $nBytes i32)
    (local $k i32) (local $kEnd i32) (local $pb i32) (local $acc v128)
    (v128.store (local.get $c) (v128.const i32x4 0 0 0 0))
    (local.set $pb (local.get $b))
    (block $blocksDone
      (loop $nextBlock
        (br_if $blocksDone (i32.ge_u (local.get $k) (local.get $kBytes)))
        (local.set $kEnd (call $blockEnd (local.get $k) (local.get $kBytes)))
        (local.set $acc (v128.const i32x4 0 0 0 0))
        (block $done
          (loop $next
            (br_if $done (i32.ge_u (local.get $k) (local.get $kEnd)))
            (local.set $acc
              (f32x4.add (local.get $acc)
                (f32x4.mul (v128.load32_splat (i32.add (local.get $a) (local.get $k)))
                           (v128.load (local.get $pb)))))
            (local.set $pb (i32.add (local.get $pb) (local.get $nBytes)))
            (local.set $k (i32.add (local.get $k) (i32.const 4)))
            (br $next)))
        (call $fold (local.get $c) (local.get $acc))
        (br $nextBlock))))

  ;; One element of C.
  (func $dot1 (param $a i32) (param $b i32) (param $kBytes i32) (param $nBytes i32) (result f32)
    (local $k i32) (local $kEnd i32) (local $pb i32) (local $acc f32) (local $total f32)
    (local.set $pb (local.get $b))
    (block $blocksDone
      (loop $nextBlock
        (br_if $blocksDone (i32.ge_u (local.get $k) (local.get $kBytes)))
        (local.set $kEnd (call $blockEnd (local.get $k) (local.get $kBytes)))
        (local.set $acc (f32.const 0))
        (block $done
          (loop $next
            (br_if $done (i32.ge_u (local.get $k) (local.get $kEnd)))
            (local.set $acc
              (f32.add (local.get $acc)
                (f32.mul (f32.load (i32.add (local.get $a) (local.get $k))) (f32.load (local.get $pb)))))
            (local.set $pb (i32.add (local.get $pb) (local.get $nBytes)))
            (local.set $k (i32.add (local.get $k) (i32.const 4)))
            (br $next)))
        (local.set $total (f32.add (f32.add (local.get $total) (local.get $acc)) (f32.const 0)))
        (br $nextBlock)))
    (local.get $total))

  ;; Columns [j, N) of one row of C: 4 at a time, then one by one.
  (func $rowTail (param $a i32) (param $b i32) (param $c i32) (param $j i32) (param $n i32)
                 (param $kBytes i32) (param $nBytes i32)
    (block $done4
      (loop $next4
        (br_if $done4 (i32.gt_u (i32.add (local.get $j) (i32.const 4)) (local.get $n)))
        (call $tile1x4 (local.get $a)
          (i32.add (local.get $b) (i32.shl (local.get $j) (i32.const 2)))
          (i32.add (local.get $c) (i32.shl (local.get $j) (i32.const 2)))
          (local.get $kBytes) (local.get $nBytes))
        (local.set $j (i32.add (local.get $j) (i32.const 4)))
        (br $next4)))
    (block $done1
      (loop $next1
        (br_if $done1 (i32.ge_u (local.get $j) (local.get $n)))
        (f32.store (i32.add (local.get $c) (i32.shl (local.get $j) (i32.const 2)))
          (call $dot1 (local.get $a)
            (i32.add (local.get $b) (i32.shl (local.get $j) (i32.const 2)))
            (local.get $kBytes) (local.get $nBytes)))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $next1))))

  (func (export "batchMatMul") (param $a i32) (param $b i32) (param $c i32)
        (param $g i32) (param $m i32) (param $k i32) (param $n i32)
    (local $kBytes i32) (local $nBytes i32) (local $n8 i32) (local $i i32) (local $j i32)
    (local $r i32) (local $aRow i32) (local $cRow i32)
    (local.set $kBytes (i32.shl (local.get $k) (i32.const 2)))
    (local.set $nBytes (i32.shl (local.get $n) (i32.const 2)))
    (local.set $n8 (i32.and (local.get $n) (i32.const -8)))
    (block $batchesDone
      (loop $batch
        (br_if $batchesDone (i32.eqz (local.get $g)))
        (local.set $i (i32.const 0))
        ;; Blocks of 4 rows: 4 x 8 tiles, then each row's last N mod 8 columns.
        (block $blocksDone
          (loop $block
            (br_if $blocksDone (i32.gt_u (i32.add (local.get $i) (i32.const 4)) (local.get $m)))
            (local.set $aRow (i32.add (local.get $a) (i32.mul (local.get $i) (local.get $kBytes))))
            (local.set $cRow (i32.add (local.get $c) (i32.mul (local.get $i) (local.get $nBytes))))
            (local.set $j (i32.const 0))
            (block $tilesDone
              (loop $tile
                (br_if $tilesDone (i32.ge_u (local.get $j) (local.get $n8)))
                (call $tile4x8 (local.get $aRow)
                  (i32.add (local.get $b) (i32.shl (local.get $j) (i32.const 2)))
                  (i32.add (local.get $cRow) (i32.shl (local.get $j) (i32.const 2)))
                  (local.get $kBytes) (local.get $nBytes))
                (local.set $j (i32.add (local.get $j) (i32.const 8)))
                (br $tile)))
            (local.set $r (i32.const 0))
            (block $rowsDone
              (loop $row
                (br_if $rowsDone (i32.ge_u (local.get $r) (i32.const 4)))
                (call $rowTail
                  (i32.add (local.get $aRow) (i32.mul (local.get $r) (local.get $kBytes)))
                  (local.get $b)
                  (i32.add (local.get $cRow) (i32.mul (local.get $r) (local.get $nBytes)))
                  (local.get $n8) (local.get $n) (local.get $kBytes) (local.get $nBytes))
                (local.set $r (i32.add (local.get $r) (i32.const 1)))
                (br $row)))
            (local.set $i (i32.add (local.get $i) (i32.const 4)))
            (br $block)))
        ;; The last M mod 4 rows.
        (block $restDone
          (loop $rest
            (br_if $restDone (i32.ge_u (local.get $i) (local.get $m)))
            (call $rowTail
              (i32.add (local.get $a) (i32.mul (local.get $i) (local.get $kBytes)))
              (local.get $b)
              (i32.add (local.get $c) (i32.mul (local.get $i) (local.get $nBytes)))
              (i32.const 0) (local.get $n) (local.get $kBytes) (local.get $nBytes))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $rest)))
        (local.set $a (i32.add (local.get $a) (i32.mul (local.get $m) (local.get $kBytes))))
        (local.set $b (i32.add (local.get $b) (i32.mul (local.get $k) (local.get $nBytes))))
        (local.set $c (i32.add (local.get $c) (i32.mul (local.get $m) (local.get $nBytes))))
        (local.set $g (i32.sub (local.get $g) (i32.const 1)))
        (br $batch)))))
