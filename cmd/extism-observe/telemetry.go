package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	otellog "go.opentelemetry.io/otel/log"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"

	"github.com/extism-observe/observe/exporters/otlp"
	"github.com/extism-observe/observe/exporters/stdout"
)

// shutdownTimeout bounds how long the exporters may take to deliver what
// they hold when the command ends (an OTLP endpoint that does not answer).
const shutdownTimeout = 5 * time.Second

// telemetry is the OpenTelemetry pipeline of one run: the providers that
// the observer records into, and how to flush them when the call is done.
type telemetry struct {
	tp *sdktrace.TracerProvider
	mp *sdkmetric.MeterProvider
	lp otellog.LoggerProvider // nil: guest logs go to stderr only

	// shutdown flushes everything recorded and stops the providers.
	shutdown func(ctx context.Context) error
	// delivered describes, for stderr, where the telemetry went; "" when
	// it was printed.
	delivered string
}

// newTelemetry makes the pipeline that c.exporter names.
func newTelemetry(ctx context.Context, c *runConfig, out io.Writer) (*telemetry, error) {
	if c.exporter != exporterStdout {
		return newOTLPTelemetry(ctx, c)
	}
	return newStdoutTelemetry(out), nil
}

// newStdoutTelemetry prints each trace as a tree as soon as its root span
// ends, and the metric values once, when the run is over, under a
// "metrics" heading.
func newStdoutTelemetry(out io.Writer) *telemetry {
	color := stdout.WithColor(useColor(out))
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(
		withoutStacktraces{stdout.NewSpanExporter(stdout.WithWriter(out), color)}))

	mexp := stdout.NewMetricExporter(stdout.WithWriter(&headedWriter{w: out, head: "metrics\n"}), color)
	reader := sdkmetric.NewManualReader(
		sdkmetric.WithTemporalitySelector(mexp.Temporality),
		sdkmetric.WithAggregationSelector(mexp.Aggregation),
	)
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))

	return &telemetry{
		tp: tp,
		mp: mp,
		shutdown: func(ctx context.Context) error {
			// Spans first: the tree is printed before the metrics.
			err := tp.Shutdown(ctx)
			var rm metricdata.ResourceMetrics
			if cerr := reader.Collect(ctx, &rm); cerr != nil {
				err = errors.Join(err, cerr)
			} else {
				err = errors.Join(err, mexp.Export(ctx, &rm))
			}
			return errors.Join(err, mp.Shutdown(ctx), mexp.Shutdown(ctx))
		},
	}
}

// newOTLPTelemetry sends spans, metrics and logs over OTLP, as -exporter,
// the other flags and the standard OTEL_* environment variables say.
func newOTLPTelemetry(ctx context.Context, c *runConfig) (*telemetry, error) {
	opts := []otlp.Option{otlp.WithServiceName(serviceName(c.plugin))}
	endpoint := c.endpoint
	dest := ""
	switch c.exporter {
	case exporterCollector:
		opts, endpoint, dest = append(opts, otlp.Collector(endpoint)), "", "the Collector at "+hostPort(endpoint)
	case exporterJaeger:
		opts, endpoint, dest = append(opts, otlp.Jaeger(endpoint)), "", "Jaeger at "+hostPort(endpoint)+" (traces only)"
	case exporterDatadog:
		opts, endpoint, dest = append(opts, otlp.DatadogAgent(endpoint)), "", "the Datadog Agent at "+hostPort(endpoint)
	case exporterHoneycomb:
		opts, dest = append(opts, otlp.Honeycomb(os.Getenv("HONEYCOMB_API_KEY"))), "Honeycomb"
	case exporterLightstep:
		opts, dest = append(opts, otlp.Lightstep(os.Getenv("LS_ACCESS_TOKEN"))), "Lightstep"
	}
	protocol := otlp.Protocol("")
	switch c.protocol {
	case "grpc":
		protocol = otlp.GRPC
	case "http":
		protocol = otlp.HTTP
	}
	if protocol != "" {
		opts = append(opts, otlp.WithProtocol(protocol))
	}
	if endpoint != "" {
		opts = append(opts, otlp.WithEndpoint(endpoint))
	}
	if c.insecure {
		opts = append(opts, otlp.WithInsecure())
	}
	if len(c.headers) > 0 {
		opts = append(opts, otlp.WithHeaders(c.headers))
	}
	p, err := otlp.Setup(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("setting up OTLP: %w", err)
	}
	return &telemetry{
		tp:        p.TracerProvider,
		mp:        p.MeterProvider,
		lp:        p.LoggerProvider,
		shutdown:  p.Shutdown,
		delivered: otlpDestination(c.protocol, c.endpoint, dest),
	}, nil
}

// hostPort is the host:port of a local agent's -endpoint, as the presets
// complete it.
func hostPort(host string) string {
	if host == "" {
		host = "localhost"
	}
	if _, _, err := net.SplitHostPort(host); err != nil {
		host = net.JoinHostPort(strings.Trim(host, "[]"), "4317")
	}
	return host
}

// serviceName is the service.name of the OTLP resource: the plugin's file
// name without .wasm (or .json). OTEL_SERVICE_NAME still wins over it.
func serviceName(plugin string) string {
	name := pluginName(plugin)
	if name == "" || name == "." {
		return "extism-observe"
	}
	return name
}

// otlpDestination says where OTLP telemetry was sent, for the message on
// stderr; preset, when not "", names the backend of -exporter.
func otlpDestination(protocol, endpoint, preset string) string {
	proto := "gRPC"
	switch {
	case protocol == "http":
		proto = "HTTP"
	case protocol == "" && strings.HasPrefix(os.Getenv("OTEL_EXPORTER_OTLP_PROTOCOL"), "http"):
		proto = "HTTP"
	}
	switch {
	case preset != "" && (endpoint == "" || strings.Contains(preset, " at ")):
		return "OTLP/" + proto + " to " + preset
	case endpoint != "":
	case os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "":
		endpoint = os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") + " (OTEL_EXPORTER_OTLP_ENDPOINT)"
	case proto == "HTTP":
		endpoint = "localhost:4318"
	default:
		endpoint = "localhost:4317"
	}
	return "OTLP/" + proto + " to " + endpoint
}

// useColor reports whether w is a terminal that should get ANSI colour, as
// the stdout exporters decide for an *os.File (https://no-color.org).
func useColor(w io.Writer) bool {
	if lw, ok := w.(*lockedWriter); ok {
		w = lw.w
	}
	if os.Getenv("NO_COLOR") != "" || os.Getenv("TERM") == "dumb" {
		return false
	}
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// headedWriter writes head before the first write, and nothing at all when
// nothing is written: the metrics heading appears only above metrics.
type headedWriter struct {
	w    io.Writer
	head string
	once sync.Once
}

func (h *headedWriter) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	var err error
	h.once.Do(func() { _, err = io.WriteString(h.w, h.head) })
	if err != nil {
		return 0, err
	}
	return h.w.Write(p)
}

// lockedWriter serialises writes to w: the guest's WASI output, its logs
// and the exporters may write from more than one goroutine.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// withoutStacktraces is the span exporter of the tree without the
// exception.stacktrace of exception events: a trap's wasm stack trace is
// printed once, on stderr, as lines, not escaped into one attribute of the
// tree. OTLP backends get it, and show it as a stack trace.
type withoutStacktraces struct{ sdktrace.SpanExporter }

func (e withoutStacktraces) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	out, copied := spans, false
	for i, s := range spans {
		events := s.Events()
		if !slices.ContainsFunc(events, hasStacktrace) {
			continue
		}
		if !copied {
			out, copied = slices.Clone(spans), true
		}
		events = slices.Clone(events)
		for j, ev := range events {
			if hasStacktrace(ev) {
				ev.Attributes = slices.DeleteFunc(slices.Clone(ev.Attributes), func(kv attribute.KeyValue) bool {
					return kv.Key == semconv.ExceptionStacktraceKey
				})
				events[j] = ev
			}
		}
		out[i] = eventsSpan{ReadOnlySpan: s, events: events}
	}
	return e.SpanExporter.ExportSpans(ctx, out)
}

func hasStacktrace(ev sdktrace.Event) bool {
	return slices.ContainsFunc(ev.Attributes, func(kv attribute.KeyValue) bool {
		return kv.Key == semconv.ExceptionStacktraceKey
	})
}

// eventsSpan is a span with other events.
type eventsSpan struct {
	sdktrace.ReadOnlySpan
	events []sdktrace.Event
}

func (s eventsSpan) Events() []sdktrace.Event { return s.events }
