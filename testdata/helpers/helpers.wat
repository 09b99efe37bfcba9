;; An instrumented module whose span helpers wrap the Observe API, as guest
;; libraries do: custom_span_enter(name) calls span-enter and returns, and
;; custom_span_exit() calls span-exit. It is in the shape instrumenting
;; compilers write: every call site is wrapped in enter/exit, calls to the
;; Observe API's own imports included, and the export points at a wrapper.
;; Function indexes (imports first): see the "func N" comments; the tests
;; rely on them.
(module
  (import "dylibso:observe/instrument" "enter" (func $enter (param i32)))         ;; func 0
  (import "dylibso:observe/instrument" "exit" (func $exit (param i32)))           ;; func 1
  (import "dylibso:observe/api" "span-enter" (func $span_enter (param i32 i32)))   ;; func 2
  (import "dylibso:observe/api" "span-exit" (func $span_exit))                     ;; func 3
  (memory (export "memory") 1)
  (data (i32.const 16) "run")

  ;; func 4: main opens a span "run" through the helper, works inside it,
  ;; and closes it through the other helper.
  (func $main
    (i32.const 5) (call $enter) (call $custom_span_enter (i32.const 16) (i32.const 3)) (i32.const 5) (call $exit)
    (i32.const 6) (call $enter) (call $work) (i32.const 6) (call $exit)
    (i32.const 7) (call $enter) (call $custom_span_exit) (i32.const 7) (call $exit))
  ;; func 5
  (func $custom_span_enter (param $ptr i32) (param $len i32)
    (i32.const 2) (call $enter) (call $span_enter (local.get $ptr) (local.get $len)) (i32.const 2) (call $exit))
  ;; func 6: a busy loop of a few milliseconds, far above the minimum
  ;; duration the tests use (1ms) and far above what the helpers take.
  (func $work (local $i i32)
    (local.set $i (i32.const 8000000))
    (loop $l
      (local.set $i (i32.sub (local.get $i) (i32.const 1)))
      (br_if $l (local.get $i))))
  ;; func 7
  (func $custom_span_exit
    (i32.const 3) (call $enter) (call $span_exit) (i32.const 3) (call $exit))
  ;; func 8: the "run" export's wrapper.
  (func $instrument_exp_run (export "run") (result i32)
    (i32.const 4) (call $enter) (call $main) (i32.const 4) (call $exit)
    (i32.const 0)))
