// Package stdout prints the traces and metrics of Extism plugin calls to a
// terminal, for development: each trace as a tree of spans with their
// attributes, guest logs and other events, and each metric data point on a
// line.
//
// Register the exporters with the OpenTelemetry SDK:
//
//	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(stdout.NewSpanExporter()))
//	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(
//		sdkmetric.NewPeriodicReader(stdout.NewMetricExporter())))
//	defer tp.Shutdown(ctx) // prints spans still waiting for their parent
//
// and give the providers to the observer (observe.WithTracerProvider,
// observe.WithMeterProvider). A plugin call then prints as:
//
//	trace 4bba0eb76a53efde5dfe6b666f2254ac
//	handle_request 1.65ms extism.function=handle_request extism.module=main extism.return_code=0
//	│  memory.grow wasm.memory.grow.bytes=65536 wasm.memory.grow.pages=1
//	├─ parse 350µs
//	│     info  handling request
//	└─ render 1.2ms ERROR "template missing" observe.truncated=true template="user page"
//	      warn  slow\r\nfake line
//
// Children are in start-time order, with the span's events between them at
// the times they happened. Guest logs ("log" events) show as level and
// message; other events as their name and attributes. Attributes are sorted
// by key, and values quoted only when they hold spaces or special
// characters.
//
// # Untrusted text
//
// Span names, attributes and log messages come from plugins. Before they are
// written, control characters (including ESC, so no ANSI sequence), line
// breaks, C1 controls and bidirectional overrides are escaped (\x1b, \n,
// \u009b, \u202e), invalid UTF-8 becomes U+FFFD, and text longer than 256
// runes (1024 for log messages) is cut with "…". A plugin cannot move the
// cursor, rewrite the screen or forge a line of output.
//
// # Colour
//
// Output is coloured when it goes to a terminal and the NO_COLOR environment
// variable is unset or empty; [WithColor] decides instead. [WithWriter]
// sends output elsewhere, and [WithoutTimings] leaves durations out, for
// output that is the same on every run.
package stdout
