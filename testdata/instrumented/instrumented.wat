;; An automatically instrumented module, in the shape an instrumenting
;; compiler writes: every call site is wrapped as
;;   i32.const idx; call enter; call f; i32.const idx; call exit
;; and each export points at a wrapper that does the same around the
;; original function. build.sh derives from this file:
;;   instrumented.wasm         (dylibso:observe/instrument, with a name section)
;;   instrumented_legacy.wasm  (dylibso_observe instrument_*, with a name section)
;;   instrumented_noname.wasm  (dylibso:observe/instrument, no name section)
;; Function indexes (imports first): see the "func N" comments; the tests
;; rely on them.
(module
  (import "dylibso:observe/instrument" "enter" (func $enter (param i32)))        ;; func 0
  (import "dylibso:observe/instrument" "exit" (func $exit (param i32)))          ;; func 1
  (import "dylibso:observe/instrument" "memory-grow" (func $memory_grow (param i32))) ;; func 2
  (import "dylibso:observe/api" "span-enter" (func $span_enter (param i32 i32)))  ;; func 3
  (import "dylibso:observe/api" "span-exit" (func $span_exit))                    ;; func 4
  (import "dylibso:observe/api" "log" (func $log (param i32 i32 i32)))            ;; func 5
  (import "dylibso:observe/api" "metric" (func $metric (param i32 i32 i32)))      ;; func 6
  (import "dylibso:observe/api" "span-tags" (func $span_tags (param i32 i32)))    ;; func 7
  (memory (export "memory") 1)
  (global $initialized (mut i32) (i32.const 0))
  (global (export "wasm_instr_version_major") i32 (i32.const 0))
  (global (export "wasm_instr_version_minor") i32 (i32.const 1))
  (data (i32.const 16) "manual.in.mixed")   ;; 15 bytes
  (data (i32.const 32) "in mixed")          ;; 8
  (data (i32.const 48) "in manual")         ;; 9
  (data (i32.const 64) "mixed.count:1|c")   ;; 15
  (data (i32.const 80) "k:v")               ;; 3

  ;; func 8: run, the body of the "run" export.
  (func $run (result i32)
    (i32.const 9) (call $enter) (call $_ZN4demo1a17h0123456789abcdefE) (i32.const 9) (call $exit)
    (i32.const 13) (call $enter) (call $mixed) (i32.const 13) (call $exit)
    (i32.const 14) (call $enter) (call $grow) (i32.const 14) (call $exit)
    (i32.const 15) (call $enter) (call $short) (i32.const 15) (call $exit)
    (i32.const 16) (call $enter) (call $long) (i32.const 16) (call $exit)
    (i32.const 15) (call $enter) (call $short) (i32.const 15) (call $exit)
    (i32.const 0))
  ;; func 9..12: four deep, with mangled names (Rust legacy, Rust v0, C++).
  (func $_ZN4demo1a17h0123456789abcdefE
    (i32.const 10) (call $enter) (call $_RNvCs1234_4demo1b) (i32.const 10) (call $exit))
  (func $_RNvCs1234_4demo1b
    (i32.const 11) (call $enter) (call $_Z1ci) (i32.const 11) (call $exit))
  (func $_Z1ci
    (i32.const 12) (call $enter) (call $d) (i32.const 12) (call $exit))
  (func $d)
  ;; func 13: manual spans, logs, metrics and tags inside a function.
  (func $mixed
    (call $log (i32.const 3) (i32.const 32) (i32.const 8))
    (call $span_enter (i32.const 16) (i32.const 15))
    (call $span_tags (i32.const 80) (i32.const 3))
    (call $log (i32.const 3) (i32.const 48) (i32.const 9))
    (call $metric (i32.const 1) (i32.const 64) (i32.const 15))
    (call $span_exit))
  ;; func 14: grows memory by 2 pages, reporting it first.
  (func $grow
    (call $memory_grow (i32.const 2))
    (drop (memory.grow (i32.const 2))))
  ;; func 15: very short.
  (func $short)
  ;; func 16: long (a busy loop of some 25ms), to outlast by far the
  ;; minimum duration the tests use (10ms), which in turn is far above what
  ;; the other functions take, even under the race detector.
  (func $long (local $i i32)
    (local.set $i (i32.const 100000000))
    (loop $l
      (local.set $i (i32.sub (local.get $i) (i32.const 1)))
      (br_if $l (local.get $i))))
  ;; func 17: _initialize of the reactor, runs once per instance.
  (func $init
    (global.set $initialized (i32.const 1)))
  ;; func 18: mismatched exits: exit of a function never entered, and the
  ;; exit of a caller while its callee never reported its exit.
  (func $mismatch (result i32)
    (i32.const 40) (call $exit)              ;; matches nothing
    (i32.const 11) (call $enter)             ;; "c" (_Z1ci)
    (i32.const 10) (call $enter)             ;; "b", callee of c here
    (i32.const 11) (call $exit)              ;; c exits: b must end too
    (i32.const 0))

  ;; Export wrappers (funcs 19..21), as instrumenting compilers write them.
  (func $instrument_exp_run (export "run") (result i32)
    (local $r i32)
    (i32.const 8) (call $enter)
    (local.set $r (call $run))
    (i32.const 8) (call $exit)
    (local.get $r))
  (func $instrument_exp__initialize (export "_initialize")
    (i32.const 17) (call $enter)
    (call $init)
    (i32.const 17) (call $exit))
  (func $instrument_exp_mismatch (export "mismatch") (result i32)
    (call $mismatch))

  ;; func 22: "loop", for benchmarks: 10,000 instrumented calls of a
  ;; short function.
  (func $loop (export "loop") (result i32)
    (local $i i32)
    (local.set $i (i32.const 10000))
    (loop $l
      (i32.const 15) (call $enter) (call $short) (i32.const 15) (call $exit)
      (local.set $i (i32.sub (local.get $i) (i32.const 1)))
      (br_if $l (local.get $i)))
    (i32.const 0))
)
