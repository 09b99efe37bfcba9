// Package observe gives WebAssembly plugins run by the Extism Go SDK real
// observability: what a plugin reports through the Observe API (its spans,
// span tags, logs and metrics) shows up inside the OpenTelemetry trace of
// the request that called it, in the tools the app already uses.
//
// # Enabling it
//
// An Extism app changes two lines: the ctx it creates plugins with, and the
// host functions it gives them.
//
//	plugin, err := extism.NewPlugin(observe.Context(ctx), manifest, config,
//		append(observe.HostFunctions(), appFunctions...))
//
// Then every plugin.CallWithContext(ctx, ...) makes a span for the call,
// child of the span in ctx, with the guest's spans nested under it. The same
// goes for extism.NewCompiledPlugin and its instances, which may run
// concurrently. The package-level functions use a [Default] Observer built
// on the global OpenTelemetry providers and zerolog's global logger; [New]
// makes one with its own [Option] values.
//
// # What a guest calls
//
// Guests import any mix of the Observe API's namespaces: the manual API,
// "dylibso:observe/api" (span-enter, span-exit, span-tags, log, metric; i32
// pointers) and the original "dylibso_observe" (span_enter, span_exit,
// span_tags, log, metric; i64 pointers), and the automatic instrumentation
// that instrumenting compilers insert, "dylibso:observe/instrument" (enter,
// exit, memory-grow) and the instrument_* functions of "dylibso_observe".
// Strings are read from the memory of the module that calls, with bounds
// checks: a host callback alone cannot see which module called it, which is
// why the Observer needs to be in the ctx the plugin is created with
// ([Observer.Context]): it watches the guest's modules as wazero compiles
// them, and their exports as they run. That works the same with a shared
// wazero compilation cache and beside the app's own wazero listeners.
//
// # Function spans
//
// Each enter/exit pair of an instrumented module becomes a function span,
// named from the module's name section (demangled). [WithMinDuration] drops
// the short ones without losing what they held; [WithFunctionSpans] gives
// the same spans to modules nobody instrumented. An exit(i) closes the
// innermost open span of function i and every function span opened after
// it, since a callee cannot outlive its caller; manual spans stay open until
// their span-exit, and belong to the span still open when they end (a span
// opened by a helper that returns moves to the helper's caller); an exit
// that matches no open function span is dropped and counted. Calls to the
// Observe API's own imports, which instrumenting compilers wrap too, get no
// function span. memory-grow becomes a "memory.grow" event on the innermost
// open span.
//
// # Where the data goes
//
//   - Spans: the call span (named after the export, attributes
//     extism.function, extism.module, extism.return_code, extism.exit_code; on a
//     failed call, status Error, the conventional error.type, and the
//     standard exception event with wazero's stack trace) and the
//     guest's spans, to the TracerProvider of [WithTracerProvider], else the
//     provider of the caller's span, else the global one. Span tags
//     ("k:v,k2:v2") become attributes of the innermost open span.
//   - Logs: to the zerolog logger ([WithLogger]), with trace_id, span_id,
//     trace_flags, module and function fields, to OpenTelemetry logs
//     ([WithLoggerProvider]), and as "log" events on the innermost open span.
//     The logs of Extism PDK guests go the same way ([WithExtismLogs]).
//   - Outbound HTTP: each request a guest sends through Extism's
//     http_request is an HTTP client span that carries the trace to the
//     server ([WithHTTPSpans], [WithPropagator]).
//   - Call metrics, for every plugin call: extism.call.duration (seconds,
//     by plugin, export and, on failure, error.type), extism.call.active
//     and extism.memory.usage, named by [PluginName], to the
//     MeterProvider.
//   - Metrics: statsd lines (counter, gauge, timer, histogram,
//     distribution, with sample rates and DogStatsD tags) to OpenTelemetry
//     instruments of the MeterProvider ([WithMeterProvider]), recorded in
//     the ctx of the innermost open span so that exemplars point into the
//     trace.
//
// An Observer made with OpenTelemetry's no-op TracerProvider,
// MeterProvider and LoggerProvider and a zerolog logger that is off
// (zerolog.Nop) is inert: nothing it reports could ever go anywhere, so
// the plugins its Context creates get no function listeners, and their
// calls cost what calls without it cost. Short of that, a call that
// nothing could hear as it starts is silent: the Observe API's host
// functions return at once and the call only keeps its place. Both keep
// the trace context of the guest's HTTP requests and [SpanFromContext].
//
// # What a guest cannot do
//
// A guest's input is untrusted. Bad pointers, malformed metric lines and
// unbalanced span-exit calls are dropped with a rate-limited error log;
// [Limits] bound what one call can record; spans left open when a call
// returns or traps are ended with status Error; all of it is counted in the
// observe.dropped metric and on the call span. Nothing a guest does panics
// the host. [WithUntrustedGuests] keeps a guest's spans out of the caller's
// trace altogether. The README lists each guarantee with the test that
// proves it.
package observe
