// Command extism-observe runs an Extism WebAssembly plugin as extism call
// does, with the observe package enabled, and shows what the plugin
// reported through the Observe API: its spans, tags, logs and metrics,
// inside the trace of the call. It is the quickest way to see a plugin's telemetry, and a
// working example of a host that uses observe.
//
// By default it prints the trace as a tree and the metric values to stdout
// (in colour on a terminal), after the guest's own output; guest logs go to
// stderr. With -exporter otlp the spans, metrics and guest logs go to an
// OTLP receiver instead: a Collector, Jaeger, or a vendor's endpoint, set by
// the flags or the standard OTEL_EXPORTER_OTLP_* environment variables.
//
//	$ extism-observe run testdata/demo.wasm
//	order 1042: 3 items, total 59.97
//	trace 5b3e0c2a6f9d4e1b8a7c6d5e4f3a2b1c
//	extism-observe run 13.1ms plugin.export=_start plugin.path=testdata/demo.wasm
//	└─ _start 12.9ms code.function.name=_start extism.exit_code=0 extism.function=_start extism.module=main_1 extism.plugin.name=demo process.exit.code=0
//	   └─ handle_order 10.2ms customer.tier=gold order.id=1042
//	      │  info  handling order 1042 for customer c-7
//	      ├─ validate 3.79ms
//	      │  └─ load_inventory 2.54ms db.statement="SELECT stock FROM inventory WHERE sku = ?" db.system=sqlite
//	      ├─ price 1.32ms
//	      └─ charge 4.4ms payment.amount=59.97 payment.method=card
//	         │  warn  card retry
//	         └─ payment_gateway 3.24ms attempt=2 http.method=POST http.url=https://pay.example.com/v1/charges
//	         info  order 1042 charged 59.97
//	metrics
//	orders.processed counter 1 tier=gold
//	order.total gauge 59.97
//	checkout.latency histogram count=1 sum=9.845 min=9.845 max=9.845 ms tier=gold
//	items.per_order histogram count=1 sum=3 min=3 max=3
//
// # Usage
//
//	Usage: extism-observe run [flags] PLUGIN.wasm [EXPORT]
//	       extism-observe run -manifest [flags] MANIFEST.json [EXPORT]
//
//	Run calls EXPORT of the Extism plugin PLUGIN.wasm, with the Observe API
//	enabled, and prints the guest's output (its Extism output, and its WASI stdout
//	and stderr as it writes them), then the trace of the call as a tree, with the
//	guest's spans, tags and logs, and the values of the metrics it reported.
//
//	EXPORT defaults to the module's only exported function, not counting
//	_initialize and the language runtime's own (malloc, asyncify_*, ...); a module
//	that exports _start and other functions, as TinyGo plugins do, gets a list of
//	them to choose from. Flags may come before or after the arguments, and are
//	named as extism call names them.
//
//	Flags:
//	  -i, -input string     the plugin's input (Extism input)
//	  -input-file path      read the plugin's input from a file
//	  -stdin                read the plugin's input from standard input
//	  -loop n               call EXPORT n times, each call in a trace of its own,
//	                        then print the calls' durations on stderr (default 1)
//	  -wasi                 enable WASI (default true; -wasi=false to disable)
//	  -timeout duration     stop each call after this long and print its trace:
//	                        a Go duration (1.5s) or a number of milliseconds
//	                        (default 0: no limit; a limit makes tight loops in
//	                        the guest slower, as wazero checks for it in them)
//	  -allow-host host      a host the plugin may send HTTP requests to (the
//	                        manifest's allowed_hosts; '*' globs); repeatable, or
//	                        comma-separated
//	  -allow-path host_dir:guest_dir
//	                        give the plugin the host directory host_dir at
//	                        guest_dir (the manifest's allowed_paths); a ro:
//	                        prefix mounts it read-only; repeatable
//	  -config key=value     a key of the plugin's config; repeatable
//	  -link name=path       link the module at path as name, for the plugin's
//	                        imports from the module name; repeatable
//	  -manifest             PLUGIN is an Extism JSON manifest, its relative paths
//	                        taken from its own directory; the flags above add to
//	                        it, and a flag given overrides its setting
//	  -memory-max pages     the most memory the plugin may have, in 64 KiB pages
//	                        (the manifest's memory.max_pages; default no limit)
//	  -http-response-max bytes
//	                        the largest HTTP response body the plugin may read
//	                        (memory.max_http_response_bytes; default 50 MiB)
//	  -var-max bytes        the most bytes the plugin may keep in Extism vars
//	                        (memory.max_var_bytes; default 1 MiB)
//	  -min-duration duration
//	                        drop function spans shorter than this (default 20µs)
//	  -function-spans pattern
//	                        give function spans to the guest functions whose names
//	                        match the glob pattern ('*' for all); repeatable, or
//	                        comma-separated
//	  -http-server          start an HTTP server on 127.0.0.1 for the plugin to
//	                        call, with a span for each request it gets, so that
//	                        the trace shows the guest's requests arriving; its
//	                        URL is the plugin's input when no input is given,
//	                        and its config key http_server_url; 127.0.0.1 is
//	                        allowed
//	  -log-level level      the guest logs kept, on stderr, in the trace and in
//	                        the OTLP log records: trace, debug, info, warn,
//	                        error or disabled (default info)
//	  -exporter name        where spans and metrics go: stdout (default), or over
//	                        OTLP, which also gets the guest logs: otlp (as the
//	                        OTEL_EXPORTER_OTLP_* variables say), collector,
//	                        jaeger (traces only), datadog (the Datadog Agent),
//	                        honeycomb (key from HONEYCOMB_API_KEY or -header) or
//	                        lightstep (token from LS_ACCESS_TOKEN or -header)
//	  -endpoint address     OTLP endpoint, host:port or URL (default from
//	                        OTEL_EXPORTER_OTLP_ENDPOINT, else localhost:4317 for
//	                        grpc, localhost:4318 for http); for collector, jaeger
//	                        and datadog, the host, with or without a port
//	                        (default localhost:4317)
//	  -protocol name        OTLP protocol: grpc (default) or http
//	  -header key=value     OTLP header, such as an API key; repeatable
//	  -insecure             send OTLP in plaintext, without TLS
//
//	Environment: TRACEPARENT and TRACESTATE (W3C trace context) make the run a
//	part of that trace; the OTEL_* variables configure OTLP as they do for any
//	OpenTelemetry SDK (OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_SERVICE_NAME, ...).
//
//	Exit status: 0 when every call succeeded; 1 when the guest failed (it trapped,
//	exited with a non-zero code, returned non-zero or timed out), after printing
//	its trace; 2 on a usage error or a set-up failure (no such file, not a valid
//	module, an import not provided, no such export, telemetry not delivered).
//
//	Examples:
//	  extism-observe run testdata/demo.wasm
//	  extism-observe run -input 3 -min-duration 0 testdata/cguest.wasm spans
//	  extism-observe run -function-spans '*' -min-duration 0 testdata/plain.wasm run
//	  extism-observe run -http-server testdata/http.wasm fetch
//	  echo -n 'hello world' | extism-observe run -stdin -loop 10 count_vowels.wasm
//	  extism-observe run -link lib=lib.wasm -i benjamin main.wasm run_test
//	  extism-observe run -manifest -config thing=1 plugin.json run_test
//	  extism-observe run -exporter otlp -endpoint localhost:4317 -insecure testdata/demo.wasm
//	  extism-observe run -exporter jaeger testdata/demo.wasm
package main
