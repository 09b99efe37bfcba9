;; calls: an ordinary module that nobody instrumented, making many calls of
;; a small internal function, for the WithFunctionSpans benchmarks in
;; ../../bench_test.go (the uninstrumented twin of instrumented.wasm's
;; "loop"). Built by build.sh with `wat2wasm --debug-names`.
(module
  (memory (export "memory") 1)
  (global $sum (mut i32) (i32.const 0))
  ;; leaf: a small function.
  (func $leaf (param $x i32) (result i32)
    (i32.add (i32.mul (local.get $x) (i32.const 3)) (i32.const 1)))
  ;; loop: 10,000 calls of leaf, each nested in the export's call.
  (func (export "loop") (result i32)
    (local $i i32)
    (local.set $i (i32.const 10000))
    (loop $l
      (global.set $sum (i32.add (global.get $sum) (call $leaf (local.get $i))))
      (local.set $i (i32.sub (local.get $i) (i32.const 1)))
      (br_if $l (local.get $i)))
    (i32.const 0)))
