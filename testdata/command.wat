;; command: a WASI command module in the shape wasi-libc gives one: _start
;; runs the constructors, then main, then exits through proc_exit(0); other
;; exports need the constructors run first, which Extism does by calling
;; __wasm_call_ctors before the first of them.
(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (import "dylibso:observe/api" "span-enter" (func $span_enter (param i32 i32)))
  (import "dylibso:observe/api" "span-exit" (func $span_exit))
  (memory (export "memory") 1)
  (data (i32.const 16) "ctors")   ;; 5
  (data (i32.const 32) "main")    ;; 4
  (data (i32.const 48) "work")    ;; 4
  (func $ctors (export "__wasm_call_ctors")
    (call $span_enter (i32.const 16) (i32.const 5))
    (call $span_exit))
  (func (export "_start")
    (call $ctors)
    (call $span_enter (i32.const 32) (i32.const 4))
    (call $span_exit)
    (call $proc_exit (i32.const 0)))
  (func (export "work") (result i32)
    (call $span_enter (i32.const 48) (i32.const 4))
    (call $span_exit)
    (i32.const 0)))
