;; pdklog: logs the way every Extism PDK does (a memory block handed to
;; extism:host/env log_info / log_warn), inside an Observe API span.
(module
  (import "extism:host/env" "alloc" (func $alloc (param i64) (result i64)))
  (import "extism:host/env" "store_u8" (func $store_u8 (param i64 i32)))
  (import "extism:host/env" "log_info" (func $log_info (param i64)))
  (import "extism:host/env" "log_warn" (func $log_warn (param i64)))
  (import "dylibso:observe/api" "span-enter" (func $span_enter (param i32 i32)))
  (import "dylibso:observe/api" "span-exit" (func $span_exit))
  (memory (export "memory") 1)
  (data (i32.const 16) "pdk.work")       ;; 8 bytes
  (data (i32.const 32) "hello from a pdk") ;; 16 bytes
  (data (i32.const 64) "careful")         ;; 7 bytes
  ;; block copies len bytes at ptr into a new Extism memory block.
  (func $block (param $ptr i32) (param $len i32) (result i64)
    (local $off i64) (local $i i32)
    (local.set $off (call $alloc (i64.extend_i32_u (local.get $len))))
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $i) (local.get $len)))
        (call $store_u8
          (i64.add (local.get $off) (i64.extend_i32_u (local.get $i)))
          (i32.load8_u (i32.add (local.get $ptr) (local.get $i))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $l)))
    (local.get $off))
  ;; run: enter("pdk.work"); log_info("hello from a pdk"); exit();
  ;; log_warn("careful"); return 0
  (func (export "run") (result i32)
    (call $span_enter (i32.const 16) (i32.const 8))
    (call $log_info (call $block (i32.const 32) (i32.const 16)))
    (call $span_exit)
    (call $log_warn (call $block (i32.const 64) (i32.const 7)))
    (i32.const 0)))
