;; loops: tight guest loops of Observe API calls, for the benchmarks in
;; ../../bench_test.go and ../../benchmarks. Every loop export reads its
;; count N from the Extism input as a little-endian u64 (1000 when the
;; input is shorter than 8 bytes), makes N calls, and returns 0. Built by
;; build.sh with `wat2wasm --debug-names` (the name section is needed by
;; the Extism SDK's built-in observe integration).
(module
  (import "dylibso:observe/api" "span-enter" (func $span_enter (param i32 i32)))
  (import "dylibso:observe/api" "span-exit" (func $span_exit))
  (import "dylibso:observe/api" "span-tags" (func $span_tags (param i32 i32)))
  (import "dylibso:observe/api" "log" (func $log (param i32 i32 i32)))
  (import "dylibso:observe/api" "metric" (func $metric (param i32 i32 i32)))
  (import "extism:host/env" "input_length" (func $input_length (result i64)))
  (import "extism:host/env" "input_load_u64" (func $input_load_u64 (param i64) (result i64)))
  (memory (export "memory") 1)
  (data (i32.const 16) "s")                                 ;; 1 byte
  (data (i32.const 32) "hello from the guest")              ;; 20
  (data (i32.const 64) "bench.requests:1|c")                ;; 18
  (data (i32.const 96) "bench.latency:12.5|h")              ;; 20
  (data (i32.const 128) "handle_request")                   ;; 14
  (data (i32.const 144) "http.method:GET,http.route:/a")    ;; 29
  (data (i32.const 176) "handling request")                 ;; 16
  (data (i32.const 208) "db.query")                         ;; 8
  (data (i32.const 224) "db.system:sqlite")                 ;; 16
  (data (i32.const 256) "db.queries:1|c|#table:users")      ;; 27
  (data (i32.const 288) "latency:12.5|ms")                  ;; 15
  (data (i32.const 320) "done")                             ;; 4

  ;; count returns N from the input.
  (func $count (result i32)
    (if (result i32) (i64.lt_u (call $input_length) (i64.const 8))
      (then (i32.const 1000))
      (else (i32.wrap_i64 (call $input_load_u64 (i64.const 0))))))

  ;; spans: N times span-enter("s"), span-exit().
  (func (export "spans") (result i32)
    (local $i i32)
    (local.set $i (call $count))
    (block $done
      (loop $l
        (br_if $done (i32.eqz (local.get $i)))
        (call $span_enter (i32.const 16) (i32.const 1))
        (call $span_exit)
        (local.set $i (i32.sub (local.get $i) (i32.const 1)))
        (br $l)))
    (i32.const 0))

  ;; logs: N info logs "hello from the guest".
  (func (export "logs") (result i32)
    (local $i i32)
    (local.set $i (call $count))
    (block $done
      (loop $l
        (br_if $done (i32.eqz (local.get $i)))
        (call $log (i32.const 3) (i32.const 32) (i32.const 20))
        (local.set $i (i32.sub (local.get $i) (i32.const 1)))
        (br $l)))
    (i32.const 0))

  ;; logs_debug: N debug logs, for a logger whose level drops them.
  (func (export "logs_debug") (result i32)
    (local $i i32)
    (local.set $i (call $count))
    (block $done
      (loop $l
        (br_if $done (i32.eqz (local.get $i)))
        (call $log (i32.const 4) (i32.const 32) (i32.const 20))
        (local.set $i (i32.sub (local.get $i) (i32.const 1)))
        (br $l)))
    (i32.const 0))

  ;; counters: N statsd lines "bench.requests:1|c".
  (func (export "counters") (result i32)
    (local $i i32)
    (local.set $i (call $count))
    (block $done
      (loop $l
        (br_if $done (i32.eqz (local.get $i)))
        (call $metric (i32.const 1) (i32.const 64) (i32.const 18))
        (local.set $i (i32.sub (local.get $i) (i32.const 1)))
        (br $l)))
    (i32.const 0))

  ;; histograms: N statsd lines "bench.latency:12.5|h".
  (func (export "histograms") (result i32)
    (local $i i32)
    (local.set $i (call $count))
    (block $done
      (loop $l
        (br_if $done (i32.eqz (local.get $i)))
        (call $metric (i32.const 1) (i32.const 96) (i32.const 20))
        (local.set $i (i32.sub (local.get $i) (i32.const 1)))
        (br $l)))
    (i32.const 0))

  ;; request: a small request handler making 10 Observe API calls (two
  ;; spans, two tag lists, an info log, a debug log, two metrics); reads no
  ;; input.
  (func (export "request") (result i32)
    (call $span_enter (i32.const 128) (i32.const 14))
    (call $span_tags (i32.const 144) (i32.const 29))
    (call $log (i32.const 3) (i32.const 176) (i32.const 16))
    (call $span_enter (i32.const 208) (i32.const 8))
    (call $span_tags (i32.const 224) (i32.const 16))
    (call $metric (i32.const 1) (i32.const 256) (i32.const 27))
    (call $span_exit)
    (call $metric (i32.const 1) (i32.const 288) (i32.const 15))
    (call $log (i32.const 4) (i32.const 320) (i32.const 4))
    (call $span_exit)
    (i32.const 0)))
