;; plain: an ordinary module that nobody instrumented, with a known call
;; chain, for WithFunctionSpans: run -> outer -> middle -> inner (twice).
(module
  (import "dylibso:observe/api" "log" (func $log (param i32 i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "in inner")
  (func $inner
    (call $log (i32.const 3) (i32.const 16) (i32.const 8)))
  (func $middle
    (call $inner)
    (call $inner))
  (func $outer
    (call $middle))
  (func $run (export "run") (result i32)
    (call $outer)
    (i32.const 0)))
