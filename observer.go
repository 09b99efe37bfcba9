package observe

import (
	"context"
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	extism "github.com/extism/go-sdk"
	"github.com/rs/zerolog"
	zlog "github.com/rs/zerolog/log"
	"go.opentelemetry.io/otel"
	otellog "go.opentelemetry.io/otel/log"
	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/extism-observe/observe/internal/conv"
)

// ScopeName is the instrumentation scope of the tracer and meter that the
// Observer uses: the import path of this package.
const ScopeName = "github.com/extism-observe/observe"

// Version is the version of this package, recorded as the instrumentation
// scope version.
const Version = "0.1.0"

// Observer turns what Extism plugins report through the Observe API into
// OpenTelemetry spans and metrics and zerolog logs. One Observer serves any
// number of plugins and instances, concurrently.
//
// An Observer needs two things from the app: its [Observer.HostFunctions]
// among the host functions of the plugin, and its [Observer.Context] as the
// ctx the plugin is created with.
type Observer struct {
	hostFns           []extism.HostFunction // HostFunctions hands out copies
	limits            Limits
	logger            zerolog.Logger
	minDuration       time.Duration
	functionSpans     []string
	hostFunctionSpans []string

	tracerProvider trace.TracerProvider // nil: resolved per call
	fixedTracer    trace.Tracer         // set when tracerProvider is
	lastTracer     atomic.Pointer[tracerEntry]

	otelLogger otellog.Logger
	extismLogs bool
	httpSpans  bool
	propagator propagation.TextMapPropagator
	untrusted  bool
	// inert is set when nothing the Observer could report would ever go
	// anywhere (see inert.go): its plugins then get no listeners at all.
	inert bool

	meter   metric.Meter
	metrics instruments
	// metricsOff is true when the MeterProvider is OpenTelemetry's no-op
	// one: guest metrics then cost nothing beyond the host call.
	metricsOff bool
	dropped    metric.Int64Counter
	// The call metrics; nil with a no-op MeterProvider.
	callDuration metric.Float64Histogram
	callsActive  metric.Int64UpDownCounter
	memoryUsage  metric.Int64Gauge

	reports reporter
}

type tracerEntry struct {
	provider trace.TracerProvider
	tracer   trace.Tracer
}

// New returns an Observer configured by opts.
func New(opts ...Option) *Observer {
	cfg := config{minDuration: DefaultMinDuration, extismLogs: true, httpSpans: true}
	for _, opt := range opts {
		opt.apply(&cfg)
	}
	o := &Observer{
		limits:            cfg.limits.withDefaults(),
		minDuration:       cfg.minDuration,
		functionSpans:     cfg.functionSpans,
		hostFunctionSpans: cfg.hostFunctionSpans,
	}
	if cfg.logger != nil {
		o.logger = *cfg.logger
	} else {
		o.logger = zlog.Logger
	}
	if cfg.tracerProvider != nil {
		o.tracerProvider = cfg.tracerProvider
		o.fixedTracer = newTracer(cfg.tracerProvider)
	}
	mp := cfg.meterProvider
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	_, o.metricsOff = mp.(metricnoop.MeterProvider)
	lp := cfg.loggerProvider
	if lp == nil {
		lp = otel.GetLoggerProvider()
	}
	o.otelLogger = lp.Logger(ScopeName, otellog.WithInstrumentationVersion(Version))
	o.extismLogs = cfg.extismLogs
	o.httpSpans = cfg.httpSpans
	if o.httpSpans {
		installTransport()
	}
	o.propagator = cfg.propagator
	if o.propagator == nil {
		// The global one forwards to whatever the app sets later.
		o.propagator = otel.GetTextMapPropagator()
	}
	o.untrusted = cfg.untrusted
	o.meter = mp.Meter(ScopeName, metric.WithInstrumentationVersion(Version))
	o.metrics.init(o.meter, o.limits.MaxMetricNames)
	// A failure here leaves a no-op counter: drops are still logged.
	o.dropped, _ = o.meter.Int64Counter("observe.dropped",
		metric.WithDescription("Guest observability data dropped or truncated by the observe library, by reason."),
		metric.WithUnit("{item}"))
	if !o.metricsOff {
		o.initCallMetrics()
	}
	o.reports.init(o.logger)
	o.inert = o.isInert(lp)
	o.hostFns = o.makeHostFunctions()
	return o
}

// initCallMetrics makes the instruments of the call metrics. A failure
// (which only a broken MeterProvider gives) leaves that metric off.
func (o *Observer) initCallMetrics() {
	d, err := o.meter.Float64Histogram(conv.MetricCallDuration,
		metric.WithDescription("Duration of Extism plugin calls."),
		metric.WithUnit("s"),
		metric.WithExplicitBucketBoundaries(conv.CallDurationBuckets...))
	if err == nil {
		o.callDuration = d
	}
	a, err := o.meter.Int64UpDownCounter(conv.MetricCallsActive,
		metric.WithDescription("Extism plugin calls in flight."),
		metric.WithUnit("{call}"))
	if err == nil {
		o.callsActive = a
	}
	m, err := o.meter.Int64Gauge(conv.MetricMemoryUsage,
		metric.WithDescription("Linear memory of a plugin's guest module at the end of a call."),
		metric.WithUnit("By"))
	if err == nil {
		o.memoryUsage = m
	}
}

func newTracer(tp trace.TracerProvider) trace.Tracer {
	return tp.Tracer(ScopeName, trace.WithInstrumentationVersion(Version))
}

// tracer returns the tracer for a call whose caller's span is parent: the
// configured provider's, else the provider of a valid parent span (so the
// call joins the caller's pipeline, as otelhttp does) unless the parent is
// a span context alone, else the global one.
func (o *Observer) tracer(parent trace.Span) trace.Tracer {
	if o.fixedTracer != nil {
		return o.fixedTracer
	}
	var tp trace.TracerProvider
	if parent.SpanContext().IsValid() {
		tp = parent.TracerProvider()
	}
	if tp == nil || tp == noSpanProvider {
		tp = otel.GetTracerProvider()
	}
	// Providers are compared as interface values; only comparable dynamic
	// types are cached, so the comparison cannot panic.
	if e := o.lastTracer.Load(); e != nil && e.provider == tp {
		return e.tracer
	}
	t := newTracer(tp)
	if reflect.TypeOf(tp).Comparable() {
		o.lastTracer.Store(&tracerEntry{provider: tp, tracer: t})
	}
	return t
}

// noSpanProvider is the TracerProvider of a span context that no span
// stands behind (a remote parent that a propagator extracted,
// trace.ContextWithSpanContext): the trace package's no-op one. It is not a
// pipeline of the caller's to join. (Its type is comparable, so comparing
// a provider with it cannot panic.)
var noSpanProvider = trace.SpanFromContext(context.Background()).TracerProvider()

var defaultObserver = sync.OnceValue(func() *Observer { return New() })

// Default returns the Observer used by the package-level [HostFunctions]
// and [Context]. It uses the global OpenTelemetry providers and zerolog's
// global logger as it is when Default is first called.
func Default() *Observer { return defaultObserver() }
