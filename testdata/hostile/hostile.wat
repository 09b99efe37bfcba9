;; hostile: a guest that does everything wrong, one export per misdeed, for
;; the tests that prove nothing a plugin does can hurt the host. Every
;; export that returns leaves the instance usable; "ok" is the clean call
;; the tests make afterwards on the same instance.
(module
  (import "dylibso:observe/api" "span-enter" (func $enter (param i32 i32)))
  (import "dylibso:observe/api" "span-exit" (func $exit))
  (import "dylibso:observe/api" "span-tags" (func $tags (param i32 i32)))
  (import "dylibso:observe/api" "log" (func $log (param i32 i32 i32)))
  (import "dylibso:observe/api" "metric" (func $metric (param i32 i32 i32)))
  (import "dylibso_observe" "span_enter" (func $enter64 (param i64 i32)))
  (import "dylibso_observe" "span_exit" (func $exit64))
  (import "dylibso:observe/instrument" "enter" (func $fenter (param i32)))
  (import "dylibso:observe/instrument" "exit" (func $fexit (param i32)))
  ;; 20 pages: 1,310,720 bytes, so that megabyte strings fit.
  (memory (export "memory") 20)
  (data (i32.const 16) "clean")                 ;; 5
  (data (i32.const 32) "d")                     ;; 1
  (data (i32.const 48) "k:v")                   ;; 3
  (data (i32.const 64) "outer")                 ;; 5
  (data (i32.const 80) "inner")                 ;; 5
  (data (i32.const 96) "spin")                  ;; 4
  ;; 128: a name with an escape sequence, NUL, invalid UTF-8, quote,
  ;; backslash and newline (14 bytes)
  (data (i32.const 128) "evil\1b[2J\00\ff\fe\22\5c\0a")
  ;; 160: tags with the same: "k\1b[31m:v\ff\00,\22q\22:\5cn" (17 bytes)
  (data (i32.const 160) "k\1b[31m:v\ff\00,\22q\22:\5cn")
  ;; 192: statsd lines OTel or statsd must reject, and one good line
  ;; (85 bytes)
  (data (i32.const 192) "bad name:1|c\n1x:1|c\nnan:NaN|g\ninf:Inf|c\nhuge:1e999|h\nesc\1b[31m:1|c\n\ff:1|c\ngood.line:2|c")
  ;; 320: tags that try to pass for the library's own attributes (57 bytes)
  (data (i32.const 320) "extism.function:evil,observe.dropped.bad_memory:0,ok:fine")
  ;; 512: the edge of memory is at 1,310,720.

  ;; ok: one clean span.
  (func (export "ok") (result i32)
    (call $enter (i32.const 16) (i32.const 5))
    (call $exit)
    (i32.const 0))

  ;; bad_name: a function whose name in the name section is one the
  ;; demangler panicked on (found by FuzzDisplayName): naming its span
  ;; must not fail the call, nor creating a plugin with function spans on.
  (func (export "bad_name") (result i32)
    (call $_ZW1A))
  (func $_ZW1A (result i32)
    (i32.const 0))

  ;; ptr_edges: pointers and lengths at and beyond the edges of memory.
  ;; Only "edge" (the last 4 bytes of memory, all zero) and the empty name
  ;; are valid; each enter has its exit.
  (func (export "ptr_edges") (result i32)
    (call $enter (i32.const 1310716) (i32.const 4)) (call $exit)  ;; valid: last 4 bytes
    (call $enter (i32.const 1310717) (i32.const 4)) (call $exit)  ;; one past the end
    (call $enter (i32.const 0) (i32.const 0)) (call $exit)        ;; empty name, valid
    (call $enter (i32.const -1) (i32.const 1)) (call $exit)       ;; pointer "negative" as i32
    (call $enter (i32.const 16) (i32.const -1)) (call $exit)      ;; length "negative": 4 GiB
    (call $enter (i32.const 16) (i32.const 0x40000000)) (call $exit) ;; a gigabyte
    (call $log (i32.const 3) (i32.const 1310720) (i32.const 1))   ;; at the end exactly
    (call $tags (i32.const 1310720) (i32.const 0))                ;; empty, at the end: valid, nothing
    (call $metric (i32.const 1) (i32.const -16) (i32.const 32))   ;; wraps around 4 GiB
    (call $enter64 (i64.const 0x100000000) (i32.const 4)) (call $exit64) ;; above 32 bits
    (call $enter64 (i64.const -1) (i32.const 4)) (call $exit64)   ;; 2^64 - 1
    (i32.const 0))

  ;; exits: 5,000 span-exit calls with nothing open, and 5,000 exits of a
  ;; function that was never entered (an Observe API import would be
  ;; skipped: the instrumentation gets no function spans).
  (func (export "exits") (result i32)
    (local $i i32)
    (local.set $i (i32.const 5000))
    (loop $l
      (call $exit)
      (call $fexit (i32.const 9))       ;; "ok", a function of this module never entered here
      (local.set $i (i32.sub (local.get $i) (i32.const 1)))
      (br_if $l (local.get $i)))
    (i32.const 0))

  ;; deep: a million nested span-enter calls, never exited.
  (func (export "deep") (result i32)
    (local $i i32)
    (local.set $i (i32.const 1000000))
    (loop $l
      (call $enter (i32.const 32) (i32.const 1))
      (local.set $i (i32.sub (local.get $i) (i32.const 1)))
      (br_if $l (local.get $i)))
    (i32.const 0))

  ;; many: a million spans, one after the other.
  (func (export "many") (result i32)
    (local $i i32)
    (local.set $i (i32.const 1000000))
    (loop $l
      (call $enter (i32.const 32) (i32.const 1))
      (call $exit)
      (local.set $i (i32.sub (local.get $i) (i32.const 1)))
      (br_if $l (local.get $i)))
    (i32.const 0))

  ;; tags: a million span-tags calls on one span.
  (func (export "tags") (result i32)
    (local $i i32)
    (call $enter (i32.const 32) (i32.const 1))
    (local.set $i (i32.const 1000000))
    (loop $l
      (call $tags (i32.const 48) (i32.const 3))
      (local.set $i (i32.sub (local.get $i) (i32.const 1)))
      (br_if $l (local.get $i)))
    (call $exit)
    (i32.const 0))

  ;; big: a megabyte span name, tag string and log message (the bytes from
  ;; address 1024 on: mostly zeros).
  (func (export "big") (result i32)
    (call $enter (i32.const 1024) (i32.const 1048576))
    (call $tags (i32.const 1024) (i32.const 1048576))
    (call $log (i32.const 3) (i32.const 1024) (i32.const 1048576))
    (call $metric (i32.const 1) (i32.const 1024) (i32.const 1048576))
    (call $exit)
    (i32.const 0))

  ;; evil_text: control sequences, NUL, invalid UTF-8 and JSON-breaking
  ;; characters in a span name, tags, a log message and metric lines.
  (func (export "evil_text") (result i32)
    (call $enter (i32.const 128) (i32.const 14))
    (call $tags (i32.const 160) (i32.const 17))
    (call $log (i32.const 3) (i32.const 128) (i32.const 14))
    (call $metric (i32.const 1) (i32.const 192) (i32.const 85))
    (call $exit)
    (i32.const 0))

  ;; Traps inside nested open spans.
  (func (export "trap_unreachable") (result i32)
    (call $enter (i32.const 64) (i32.const 5))
    (call $fenter (i32.const 3))
    (call $enter (i32.const 80) (i32.const 5))
    unreachable)
  (func (export "trap_div0") (result i32)
    (call $enter (i32.const 64) (i32.const 5))
    (call $enter (i32.const 80) (i32.const 5))
    (i32.div_s (i32.const 1) (i32.const 0)))
  (func (export "trap_oob") (result i32)
    (call $enter (i32.const 64) (i32.const 5))
    (call $enter (i32.const 80) (i32.const 5))
    (i32.load (i32.const -4)))

  ;; spin: an endless loop inside an open span (a timeout or a cancelled
  ;; ctx stops it).
  (func (export "spin") (result i32)
    (call $enter (i32.const 96) (i32.const 4))
    (loop $l (br $l))
    (i32.const 0))

  ;; forge: tags on the call span in the library's own namespaces.
  (func (export "forge") (result i32)
    (call $tags (i32.const 320) (i32.const 57))
    (i32.const 0))
)
