package observe

import (
	"time"

	"github.com/rs/zerolog"
	otellog "go.opentelemetry.io/otel/log"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// Default limits. Each guards the host against a plugin that reports far
// more than any trace backend could show usefully; see [Limits].
const (
	DefaultMaxSpanDepth    = 256
	DefaultMaxSpansPerCall = 10_000
	DefaultMaxStringBytes  = 64 << 10
	DefaultMaxTagsPerCall  = 1024
	DefaultMaxMetricNames  = 1000
)

// Limits bound what one plugin call can make the host record. Beyond a
// limit the extra data is dropped (or, for strings, truncated), counted in
// the observe.dropped metric and on the call span, and logged once per
// call. A zero field takes its default.
type Limits struct {
	// MaxSpanDepth is the deepest nesting of open guest spans in one call.
	// Deeper span-enter calls are dropped, and so are their matching
	// span-exit calls. Default [DefaultMaxSpanDepth].
	MaxSpanDepth int
	// MaxSpansPerCall is the number of guest spans one call may start.
	// Default [DefaultMaxSpansPerCall].
	MaxSpansPerCall int
	// MaxStringBytes is the most bytes read from guest memory by one host
	// call. Longer span names, tags and log messages are truncated to it
	// (and marked as truncated); a longer metric payload keeps only its
	// complete lines within the limit. Default [DefaultMaxStringBytes].
	MaxStringBytes int
	// MaxTagsPerCall is the number of span tags one call may set.
	// Default [DefaultMaxTagsPerCall].
	MaxTagsPerCall int
	// MaxMetricNames is the number of distinct metric instruments (name and
	// type) an Observer creates from guest metrics; lines for further names
	// are dropped. It guards the metric backend's cardinality.
	// Default [DefaultMaxMetricNames].
	MaxMetricNames int
}

func (l Limits) withDefaults() Limits {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&l.MaxSpanDepth, DefaultMaxSpanDepth)
	def(&l.MaxSpansPerCall, DefaultMaxSpansPerCall)
	def(&l.MaxStringBytes, DefaultMaxStringBytes)
	def(&l.MaxTagsPerCall, DefaultMaxTagsPerCall)
	def(&l.MaxMetricNames, DefaultMaxMetricNames)
	return l
}

// config is the resolved configuration of an Observer.
type config struct {
	httpSpans         bool
	propagator        propagation.TextMapPropagator
	hostFunctionSpans []string
	tracerProvider    trace.TracerProvider // nil: take it from the caller's span, else the global one
	meterProvider     metric.MeterProvider // nil: the global one
	logger            *zerolog.Logger      // nil: zerolog's global logger
	loggerProvider    otellog.LoggerProvider
	extismLogs        bool
	untrusted         bool
	limits            Limits
	minDuration       time.Duration
	functionSpans     []string // glob patterns
}

// DefaultMinDuration is the shortest automatic function span kept by
// default; see [WithMinDuration].
const DefaultMinDuration = 20 * time.Microsecond

// Option configures an Observer made by [New].
type Option interface {
	apply(*config)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithTracerProvider sets the TracerProvider for plugin call spans and guest
// spans. Without it, the provider of the span in the ctx given to
// CallWithContext is used when that span is valid, else the global one. A
// parent that is a span context alone (a remote one a propagator
// extracted, or one set with trace.ContextWithSpanContext) has no provider
// of its own: its calls go to the global one. A nil provider is ignored.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return optionFunc(func(c *config) {
		if tp != nil {
			c.tracerProvider = tp
		}
	})
}

// WithMeterProvider sets the MeterProvider for guest metrics. Without it
// the global provider is used. A nil provider is ignored. With
// OpenTelemetry's no-op provider (go.opentelemetry.io/otel/metric/noop),
// guest metrics are skipped without being read, so malformed lines go
// unreported too.
func WithMeterProvider(mp metric.MeterProvider) Option {
	return optionFunc(func(c *config) {
		if mp != nil {
			c.meterProvider = mp
		}
	})
}

// WithLogger sets the zerolog logger that receives guest logs and the
// observer's own reports of bad guest input. Without it, zerolog's global
// logger (github.com/rs/zerolog/log.Logger, as it is when [New] runs) is used.
// The logger's level decides which guest logs are kept: a guest log below
// it is neither written nor recorded as a span event.
func WithLogger(l zerolog.Logger) Option {
	return optionFunc(func(c *config) {
		c.logger = &l
	})
}

// WithLimits sets the limits of what one plugin call can record. Zero fields
// keep their defaults.
func WithLimits(l Limits) Option {
	return optionFunc(func(c *config) {
		c.limits = l
	})
}

// WithMinDuration sets the shortest automatic function span that is
// exported: function spans (from instrumented modules, or from
// [WithFunctionSpans]) that end sooner are dropped. Default
// [DefaultMinDuration]; 0 keeps every function span. Manual spans are
// always kept, and so are function spans that end in error.
//
// What happened inside a dropped function span is not lost: its manual
// child spans and kept function child spans become children of the nearest
// kept ancestor, and its logs, tags and memory growth are recorded on that
// ancestor, with their own timestamps. Because whether a function span is
// kept is known only when it ends, spans inside a function that is still
// running are held back and exported when that function ends; a zerolog
// line written meanwhile carries the span ID of the nearest span already
// started.
func WithMinDuration(d time.Duration) Option {
	return optionFunc(func(c *config) {
		if d < 0 {
			d = 0
		}
		c.minDuration = d
	})
}

// WithHTTPSpans turns client spans for guests' outbound HTTP on or off.
// On, every request a guest makes through Extism's http_request is an
// OpenTelemetry HTTP client span (kind Client, named after the method)
// under the innermost open guest span, with http.request.method, url.full,
// server.address, server.port and http.response.status_code; a status of
// 400 or more, a transport failure, or a host the manifest does not allow
// is an error, with error.type. The trace goes to the server in the
// request's headers, through the propagator ([WithPropagator]).
//
// It is on by default. Extism sends every request through
// http.DefaultClient; the first Observer made with HTTP spans on puts a
// RoundTripper around that client's Transport, once for the process, that
// acts only on the requests Extism's http_request sends during an observed
// call and passes every other request straight through. So make the
// Observer before the app starts sending requests on http.DefaultClient,
// and if the app sets http.DefaultClient.Transport itself, set it before
// that. A request Extism refuses before sending it (a host the manifest
// does not allow, a request that is not JSON) is a client span named
// HTTP, with Extism's reason as its error.
//
// With WithHTTPSpans(false) the Observer adds no spans and no headers, and
// puts nothing around http.DefaultClient.
func WithHTTPSpans(on bool) Option {
	return optionFunc(func(c *config) { c.httpSpans = on })
}

// WithPropagator sets the propagator that carries the trace to the servers
// guests call (WithHTTPSpans). Without it, the global one,
// otel.GetTextMapPropagator(), which carries nothing until the app sets
// one (otel.SetTextMapPropagator(propagation.TraceContext{}), say). A nil
// propagator is ignored.
func WithPropagator(p propagation.TextMapPropagator) Option {
	return optionFunc(func(c *config) {
		if p != nil {
			c.propagator = p
		}
	})
}

// WithHostFunctionSpans gives a span to every call a guest makes to one of
// the app's host functions whose name matches a pattern ("*" matches any
// run of characters, "?" one; "*" for all). The span is named after the
// function, with its namespace (extism.host_function.namespace), child of
// the innermost open guest span, and ends with status Error and an
// exception event when the host function panics. Inside the host
// function, [SpanFromContext] returns it, so the app's own spans nest
// under it. The Observe API's and Extism's own host functions get none.
//
// It needs a wazero listener on the app's host modules; with a shared
// compilation cache wazero keeps a little code for each plugin created
// (see "Shared compilation caches" at [Observer.Context]).
func WithHostFunctionSpans(patterns ...string) Option {
	return optionFunc(func(c *config) { c.hostFunctionSpans = append(c.hostFunctionSpans, patterns...) })
}

// WithFunctionSpans gives function spans to modules nobody instrumented: each
// call of a guest function whose name matches one of the glob patterns
// ('*' matches any run of characters, '?' one character; "*" matches every
// function) gets a span, nested, named and filtered ([WithMinDuration]) just
// like the spans of instrumented modules. Names are those of the module's
// name section, demangled; a function it does not name is "func[N]", which
// patterns can match too.
//
// It costs a wazero function listener call on entry and exit of every
// matching function, whether the span is kept or not: match narrowly on hot
// paths. Measured on a 2-core machine (BENCHMARKS.md), a call of a small
// function took 3 ns unobserved, about 230 ns with a span that
// WithMinDuration drops, and about 1.1 µs with a span kept and exported;
// functions that do not match get no listener at all.
func WithFunctionSpans(patterns ...string) Option {
	return optionFunc(func(c *config) {
		c.functionSpans = append(c.functionSpans, patterns...)
	})
}

// WithLoggerProvider sets the OpenTelemetry LoggerProvider that guest logs
// are also emitted to, as log records with the severity, the message as
// body, and the trace and span IDs of the innermost started guest span.
// Without it the global provider is used, which does nothing until the app
// sets one. A nil provider is ignored.
//
// The no-op one (go.opentelemetry.io/otel/log/noop), with the no-op
// TracerProvider and MeterProvider and a zerolog logger that is off
// (zerolog.Nop), makes the Observer inert: its plugins get no listeners and
// cost what they cost without it (see the package documentation).
func WithLoggerProvider(lp otellog.LoggerProvider) Option {
	return optionFunc(func(c *config) {
		if lp != nil {
			c.loggerProvider = lp
		}
	})
}

// WithExtismLogs turns on or off the logs that guests write through an
// Extism PDK (the log_* functions of extism:host/env). On, the default,
// they go to the observer's zerolog logger, OpenTelemetry LoggerProvider
// and span events, with the trace and span IDs of the innermost guest
// span, as Observe API logs do, with the field source=extism; what the
// logger's level drops costs nothing but a level check. The Extism SDK
// still handles them as before: the Plugin's logger (Plugin.SetLogger)
// gets every message first.
//
// Extism decides what reaches either: PDKs ask the host for its log level
// first, and the Extism SDK's default is off. Set it, for instance
// extism.SetLogLevel(extism.LogLevelInfo), or guests send nothing.
func WithExtismLogs(on bool) Option {
	return optionFunc(func(c *config) {
		c.extismLogs = on
	})
}

// WithUntrustedGuests is for plugins whose guest must not be able to forge
// or disturb the caller's trace: code from third parties, or from users of
// the app. The call span stays in the caller's trace (it is the host's
// account of the call), but the guest's spans go to a new trace of their
// own, under a root span named after the export with " (guest)" appended,
// linked both ways with the call span. Every span tag the guest sets is
// namespaced under "guest.", so nothing the guest writes can pass for the
// library's own attributes.
//
// Without it, guest spans are children of the call span in the caller's
// trace, which is what an app wants from plugins it trusts as much as its
// own code; tags the guest sets in the library's namespaces ("extism.",
// "observe.", "wasm.") are namespaced under "guest." in either mode.
func WithUntrustedGuests() Option {
	return optionFunc(func(c *config) {
		c.untrusted = true
	})
}
