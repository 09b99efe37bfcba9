;; legacy: a hand-written guest using the original `dylibso_observe` API
;; (i64 pointers). Built by build.sh with `wat2wasm --debug-names`.
(module
  (import "dylibso_observe" "metric"     (func $metric     (param i32 i64 i32)))
  (import "dylibso_observe" "log"        (func $log        (param i32 i64 i32)))
  (import "dylibso_observe" "span_enter" (func $span_enter (param i64 i32)))
  (import "dylibso_observe" "span_exit"  (func $span_exit))
  (import "dylibso_observe" "span_tags"  (func $span_tags  (param i64 i32)))

  (memory (export "memory") 1)

  ;; One string per 16-byte slot; lengths exclude any NUL (there is none).
  (data (i32.const 16) "legacy.outer")      ;; len 12
  (data (i32.const 32) "lang:wat")          ;; len 8
  (data (i32.const 48) "from wat")          ;; len 8
  (data (i32.const 64) "legacy.inner")      ;; len 12
  (data (i32.const 80) "legacy.count:3|c")  ;; len 16

  (func $run (export "run") (result i32)
    (call $span_enter (i64.const 16) (i32.const 12))          ;; enter("legacy.outer")
    (call $span_tags (i64.const 32) (i32.const 8))            ;; tags("lang:wat")
    (call $log (i32.const 3) (i64.const 48) (i32.const 8))    ;; log(3, "from wat")
    (call $span_enter (i64.const 64) (i32.const 12))          ;; enter("legacy.inner")
    (call $metric (i32.const 1) (i64.const 80) (i32.const 16));; metric(1, "legacy.count:3|c")
    (call $span_exit)
    (call $span_exit)
    ;; pointer above 32 bits: the host must reject it
    (call $span_enter (i64.const 0x100000000) (i32.const 4))
    (i32.const 0))

  (func $trap (export "trap") (result i32)
    (call $span_enter (i64.const 16) (i32.const 12))          ;; enter("legacy.outer")
    unreachable)
)
