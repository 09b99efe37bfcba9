;; http: a guest that makes an outbound HTTP request the way Extism PDKs do,
;; through extism:host/env: it builds the request JSON in an Extism memory
;; block, calls http_request, and returns the status code's class.
;;   get:     GET of the URL given as the input, with a header of its own
;;            (x-guest: 1), which the observer must keep.
;;   fetch:   the same GET, after an Extism log line (log_info); the
;;            response body is its output, and it returns 0 on a 2xx
;;            status, 1 on any other.
;;   bad_json: http_request with a block that is not JSON.
(module
  (import "extism:host/env" "input_length" (func $input_length (result i64)))
  (import "extism:host/env" "input_load_u8" (func $input_load_u8 (param i64) (result i32)))
  (import "extism:host/env" "alloc" (func $alloc (param i64) (result i64)))
  (import "extism:host/env" "store_u8" (func $store_u8 (param i64 i32)))
  (import "extism:host/env" "http_request" (func $http_request (param i64 i64) (result i64)))
  (import "extism:host/env" "http_status_code" (func $http_status_code (result i32)))
  (import "extism:host/env" "output_set" (func $output_set (param i64 i64)))
  (import "extism:host/env" "length" (func $length (param i64) (result i64)))
  (import "extism:host/env" "log_info" (func $log_info (param i64)))
  (memory (export "memory") 1)
  (data (i32.const 0) "{\22method\22:\22get\22,\22headers\22:{\22x-guest\22:\221\22},\22url\22:\22")  ;; 49 bytes
  (data (i32.const 64) "\22}")                                                                   ;; 2 bytes
  (data (i32.const 80) "not json")                                                               ;; 8 bytes
  (data (i32.const 96) "fetching the input URL")                                                 ;; 22 bytes

  ;; copy n bytes of guest memory at src to the Extism block at dst.
  (func $copy (param $dst i64) (param $src i32) (param $n i32)
    (local $i i32)
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (call $store_u8 (i64.add (local.get $dst) (i64.extend_i32_u (local.get $i)))
          (i32.load8_u (i32.add (local.get $src) (local.get $i))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $l))))

  ;; the GET of the input URL; returns the response body's block, or 0.
  (func $request (result i64)
    (local $n i64) (local $block i64) (local $i i64)
    (local.set $n (call $input_length))
    (local.set $block (call $alloc (i64.add (local.get $n) (i64.const 51))))
    (call $copy (local.get $block) (i32.const 0) (i32.const 49))
    ;; the input, the URL, after the prefix
    (block $done
      (loop $l
        (br_if $done (i64.ge_u (local.get $i) (local.get $n)))
        (call $store_u8 (i64.add (local.get $block) (i64.add (i64.const 49) (local.get $i)))
          (call $input_load_u8 (local.get $i)))
        (local.set $i (i64.add (local.get $i) (i64.const 1)))
        (br $l)))
    (call $copy (i64.add (local.get $block) (i64.add (i64.const 49) (local.get $n))) (i32.const 64) (i32.const 2))
    (call $http_request (local.get $block) (i64.const 0)))

  (func (export "get") (result i32)
    (drop (call $request))
    (i32.div_u (call $http_status_code) (i32.const 100)))

  (func (export "fetch") (result i32)
    (local $msg i64) (local $body i64)
    (local.set $msg (call $alloc (i64.const 22)))
    (call $copy (local.get $msg) (i32.const 96) (i32.const 22))
    (call $log_info (local.get $msg))
    (local.set $body (call $request))
    (if (i64.ne (local.get $body) (i64.const 0))
      (then (call $output_set (local.get $body) (call $length (local.get $body)))))
    (i32.ne (i32.div_u (call $http_status_code) (i32.const 100)) (i32.const 2)))

  (func (export "bad_json") (result i32)
    (local $block i64)
    (local.set $block (call $alloc (i64.const 8)))
    (call $copy (local.get $block) (i32.const 80) (i32.const 8))
    (drop (call $http_request (local.get $block) (i64.const 0)))
    (i32.const 0)))
