;; hostcall: a guest span around a call to the app's own host function, to
;; test observe.SpanFromContext from the app's side.
(module
  (import "dylibso:observe/api" "span-enter" (func $span_enter (param i32 i32)))
  (import "dylibso:observe/api" "span-exit" (func $span_exit))
  (import "extism:host/user" "app_work" (func $app_work))
  (memory (export "memory") 1)
  (data (i32.const 16) "guest.outer")
  ;; run: enter("guest.outer"); app_work(); exit(); app_work(); return 0
  (func (export "run") (result i32)
    (call $span_enter (i32.const 16) (i32.const 11))
    (call $app_work)
    (call $span_exit)
    (call $app_work)
    (i32.const 0)))
