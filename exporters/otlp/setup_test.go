package otlp

import (
	"bytes"
	"context"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	otellog "go.opentelemetry.io/otel/log"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	"go.opentelemetry.io/otel/trace"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	metricspb "go.opentelemetry.io/proto/otlp/metrics/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"

	"github.com/extism-observe/observe/internal/testutil"
)

// otelEnv are the variables that change what Setup does. Tests clear them
// first, so that the environment they run in cannot change their result.
var otelEnv = []string{
	"OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES",
	"OTEL_TRACES_EXPORTER", "OTEL_METRICS_EXPORTER", "OTEL_LOGS_EXPORTER",
	"OTEL_TRACES_SAMPLER", "OTEL_TRACES_SAMPLER_ARG",
	"OTEL_BSP_SCHEDULE_DELAY", "OTEL_BSP_MAX_QUEUE_SIZE", "OTEL_BLRP_SCHEDULE_DELAY", "OTEL_BLRP_MAX_QUEUE_SIZE",
	"OTEL_METRIC_EXPORT_INTERVAL", "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE",
}

func clearEnv(t *testing.T) {
	t.Helper()
	for _, name := range otelEnv {
		t.Setenv(name, "")
	}
	for _, sig := range []string{"", "TRACES_", "METRICS_", "LOGS_"} {
		for _, v := range []string{"ENDPOINT", "HEADERS", "PROTOCOL", "INSECURE", "COMPRESSION", "TIMEOUT", "CERTIFICATE", "CLIENT_CERTIFICATE", "CLIENT_KEY"} {
			t.Setenv("OTEL_EXPORTER_OTLP_"+sig+v, "")
		}
	}
}

// testContext is the ctx of a test's Setup, ForceFlush and Shutdown: a
// deadline stops retries to a receiver that is not there from hanging it.
func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// emitted is what emit made, to compare with what a receiver got.
type emitted struct {
	parent, child trace.SpanContext
}

// emit makes a parent span with attributes and a child, a counter and a
// histogram, and a log record in the parent span.
func emit(t *testing.T, p *Providers) emitted {
	t.Helper()
	ctx := context.Background()
	tr := p.TracerProvider.Tracer("otlp-test")
	ctx, parent := tr.Start(ctx, "plugin.call", trace.WithAttributes(
		attribute.String("plugin", "hello"),
		attribute.Int("n", 3),
	))
	_, child := tr.Start(ctx, "guest.span", trace.WithAttributes(attribute.Bool("guest", true)))
	child.End()

	m := p.MeterProvider.Meter("otlp-test")
	calls, err := m.Int64Counter("plugin.calls")
	if err != nil {
		t.Fatal(err)
	}
	calls.Add(ctx, 2, metric.WithAttributes(attribute.String("plugin", "hello")))
	calls.Add(ctx, 3, metric.WithAttributes(attribute.String("plugin", "hello")))
	duration, err := m.Float64Histogram("plugin.duration", metric.WithUnit("ms"))
	if err != nil {
		t.Fatal(err)
	}
	duration.Record(ctx, 1.5)
	duration.Record(ctx, 2.5)

	var rec otellog.Record
	rec.SetTimestamp(time.Now())
	rec.SetSeverity(otellog.SeverityWarn)
	rec.SetSeverityText("WARN")
	rec.SetBody(attribute.StringValue("guest says hi"))
	rec.AddAttributes(attribute.String("module", "hello"))
	p.LoggerProvider.Logger("otlp-test").Emit(ctx, rec)

	parent.End()
	return emitted{parent: parent.SpanContext(), child: child.SpanContext()}
}

// checkData asserts that r got exactly what emit made, with serviceName
// in the resource of every signal.
func checkData(t *testing.T, r *testutil.Receiver, e emitted, serviceName string) {
	t.Helper()
	checkTraces(t, r, e, serviceName)
	checkMetrics(t, r, serviceName)
	checkLogs(t, r, e, serviceName)
}

func checkTraces(t *testing.T, r *testutil.Receiver, e emitted, serviceName string) {
	t.Helper()
	spans := r.Spans()
	if len(spans) != 2 {
		t.Fatalf("got %d spans, want 2", len(spans))
	}
	byName := map[string]*tracepb.Span{}
	for _, s := range spans {
		byName[s.Span.GetName()] = s.Span
		if s.Scope != "otlp-test" {
			t.Errorf("span %q: scope %q, want otlp-test", s.Span.GetName(), s.Scope)
		}
		checkResource(t, "span "+s.Span.GetName(), testutil.Attrs(s.Resource.GetAttributes()), serviceName)
	}
	parent, child := byName["plugin.call"], byName["guest.span"]
	if parent == nil || child == nil {
		t.Fatalf("got spans %v, want plugin.call and guest.span", byName)
	}
	pid, ptid := e.parent.SpanID(), e.parent.TraceID()
	cid := e.child.SpanID()
	if !bytes.Equal(parent.GetSpanId(), pid[:]) || !bytes.Equal(parent.GetTraceId(), ptid[:]) {
		t.Errorf("parent ids %x/%x, want %s/%s", parent.GetTraceId(), parent.GetSpanId(), ptid, pid)
	}
	if len(parent.GetParentSpanId()) != 0 {
		t.Errorf("parent has parent %x, want none", parent.GetParentSpanId())
	}
	if !bytes.Equal(child.GetSpanId(), cid[:]) || !bytes.Equal(child.GetTraceId(), ptid[:]) {
		t.Errorf("child ids %x/%x, want %s/%s", child.GetTraceId(), child.GetSpanId(), ptid, cid)
	}
	if !bytes.Equal(child.GetParentSpanId(), pid[:]) {
		t.Errorf("child's parent %x, want %s", child.GetParentSpanId(), pid)
	}
	checkAttrs(t, "plugin.call", testutil.Attrs(parent.GetAttributes()), map[string]any{"plugin": "hello", "n": int64(3)})
	checkAttrs(t, "guest.span", testutil.Attrs(child.GetAttributes()), map[string]any{"guest": true})
}

func checkMetrics(t *testing.T, r *testutil.Receiver, serviceName string) {
	t.Helper()
	calls, ok := r.Metric("plugin.calls")
	if !ok {
		t.Fatal("no plugin.calls metric")
	}
	checkResource(t, "plugin.calls", testutil.Attrs(calls.Resource.GetAttributes()), serviceName)
	sum := calls.Metric.GetSum()
	if sum == nil || !sum.GetIsMonotonic() || len(sum.GetDataPoints()) != 1 {
		t.Fatalf("plugin.calls = %v, want a monotonic sum with one point", calls.Metric)
	}
	if sum.GetAggregationTemporality() != metricspb.AggregationTemporality_AGGREGATION_TEMPORALITY_CUMULATIVE {
		t.Errorf("plugin.calls temporality %v, want cumulative", sum.GetAggregationTemporality())
	}
	pt := sum.GetDataPoints()[0]
	if pt.GetAsInt() != 5 {
		t.Errorf("plugin.calls = %d, want 5", pt.GetAsInt())
	}
	checkAttrs(t, "plugin.calls point", testutil.Attrs(pt.GetAttributes()), map[string]any{"plugin": "hello"})

	duration, ok := r.Metric("plugin.duration")
	if !ok {
		t.Fatal("no plugin.duration metric")
	}
	if duration.Metric.GetUnit() != "ms" {
		t.Errorf("plugin.duration unit %q, want ms", duration.Metric.GetUnit())
	}
	h := duration.Metric.GetHistogram()
	if h == nil || len(h.GetDataPoints()) != 1 {
		t.Fatalf("plugin.duration = %v, want a histogram with one point", duration.Metric)
	}
	hp := h.GetDataPoints()[0]
	if hp.GetCount() != 2 || hp.GetSum() != 4 || hp.GetMin() != 1.5 || hp.GetMax() != 2.5 {
		t.Errorf("plugin.duration count %d sum %v min %v max %v, want 2, 4, 1.5, 2.5",
			hp.GetCount(), hp.GetSum(), hp.GetMin(), hp.GetMax())
	}
}

func checkLogs(t *testing.T, r *testutil.Receiver, e emitted, serviceName string) {
	t.Helper()
	recs := r.LogRecords()
	if len(recs) != 1 {
		t.Fatalf("got %d log records, want 1", len(recs))
	}
	l := recs[0]
	checkResource(t, "log record", testutil.Attrs(l.Resource.GetAttributes()), serviceName)
	if got := l.Record.GetBody().GetStringValue(); got != "guest says hi" {
		t.Errorf("log body %q, want %q", got, "guest says hi")
	}
	if l.Record.GetSeverityNumber() != logspb.SeverityNumber_SEVERITY_NUMBER_WARN || l.Record.GetSeverityText() != "WARN" {
		t.Errorf("log severity %v %q, want WARN", l.Record.GetSeverityNumber(), l.Record.GetSeverityText())
	}
	tid, sid := e.parent.TraceID(), e.parent.SpanID()
	if !bytes.Equal(l.Record.GetTraceId(), tid[:]) || !bytes.Equal(l.Record.GetSpanId(), sid[:]) {
		t.Errorf("log trace/span %x/%x, want %s/%s", l.Record.GetTraceId(), l.Record.GetSpanId(), tid, sid)
	}
	if l.Record.GetTimeUnixNano() == 0 {
		t.Error("log record has no timestamp")
	}
	checkAttrs(t, "log record", testutil.Attrs(l.Record.GetAttributes()), map[string]any{"module": "hello"})
}

// checkResource asserts the resource attributes every export carries.
func checkResource(t *testing.T, what string, got map[string]any, serviceName string) {
	t.Helper()
	want := map[string]any{
		"service.name":           serviceName,
		"telemetry.sdk.language": "go",
		"telemetry.sdk.name":     "opentelemetry",
		"process.pid":            int64(os.Getpid()),
	}
	if host, err := os.Hostname(); err == nil {
		want["host.name"] = host
	}
	checkAttrs(t, what+" resource", got, want)
}

// checkAttrs asserts that got has every attribute of want, with its value.
func checkAttrs(t *testing.T, what string, got, want map[string]any) {
	t.Helper()
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %s = %#v, want %#v", what, k, got[k], v)
		}
	}
}

// checkHeaders asserts that every request r got for the signals has the
// headers of want, and none of absent.
func checkHeaders(t *testing.T, r *testutil.Receiver, signals []signal, want map[string]string, absent ...string) {
	t.Helper()
	for _, s := range signals {
		reqs := r.Got(wire(s))
		if len(reqs) == 0 {
			t.Errorf("no %s request", s)
		}
		for _, req := range reqs {
			for k, v := range want {
				if got := req.Header(k); got != v {
					t.Errorf("%s request: header %s = %q, want %q", s, k, got, v)
				}
			}
			for _, k := range absent {
				if got, ok := req.Headers[k]; ok {
					t.Errorf("%s request: header %s = %q, want none", s, k, got)
				}
			}
		}
	}
}

var allSignals = []signal{traces, metrics, logs}

func setup(t *testing.T, opts ...Option) *Providers {
	t.Helper()
	p, err := Setup(testContext(t), opts...)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func shutdown(t *testing.T, p *Providers) {
	t.Helper()
	if err := p.Shutdown(testContext(t)); err != nil {
		t.Fatal(err)
	}
}

func TestSetup(t *testing.T) {
	for _, tc := range []struct {
		protocol Protocol
		endpoint func(*testutil.Receiver) []Option
		path     string // the HTTP path prefix
	}{
		{GRPC, func(r *testutil.Receiver) []Option { return []Option{WithEndpoint(r.Addr), WithInsecure()} }, ""},
		// An http URL is plaintext without WithInsecure, and its path is a base.
		{HTTP, func(r *testutil.Receiver) []Option { return []Option{WithEndpoint(r.URL() + "/otlp/")} }, "/otlp"},
	} {
		t.Run(string(tc.protocol), func(t *testing.T) {
			clearEnv(t)
			r := testutil.NewReceiver(t, string(tc.protocol))
			opts := append([]Option{
				WithProtocol(tc.protocol),
				WithHeaders(map[string]string{"X-Test-Token": "secret-123"}),
				WithServiceName("plugin-host"),
				WithResource(resource.NewSchemaless(attribute.String("deployment.environment.name", "test"))),
			}, tc.endpoint(r)...)
			p := setup(t, opts...)
			e := emit(t, p)

			// ForceFlush exports everything; Shutdown after it has
			// nothing left to send.
			if err := p.ForceFlush(testContext(t)); err != nil {
				t.Fatal(err)
			}
			checkData(t, r, e, "plugin-host")
			checkHeaders(t, r, allSignals, map[string]string{"x-test-token": "secret-123"})
			for _, l := range r.LogRecords() {
				checkAttrs(t, "log resource", testutil.Attrs(l.Resource.GetAttributes()), map[string]any{"deployment.environment.name": "test"})
			}
			if tc.protocol == HTTP {
				for _, s := range allSignals {
					for _, req := range r.Got(wire(s)) {
						if want := tc.path + s.path(); req.Path != want {
							t.Errorf("%s posted to %s, want %s", s, req.Path, want)
						}
					}
				}
			}
			before := r.Count()
			shutdown(t, p)
			// Shutdown exports the metrics once more (cumulative), and no
			// span or log twice.
			if got := len(r.Spans()); got != 2 {
				t.Errorf("after Shutdown, %d spans, want 2", got)
			}
			if got := len(r.LogRecords()); got != 1 {
				t.Errorf("after Shutdown, %d log records, want 1", got)
			}
			if r.Count() < before {
				t.Errorf("requests went from %d to %d", before, r.Count())
			}
		})
	}
}

func TestSetupShutdownOnly(t *testing.T) {
	// Without ForceFlush, Shutdown alone must export everything.
	for _, p := range []Protocol{GRPC, HTTP} {
		t.Run(string(p), func(t *testing.T) {
			clearEnv(t)
			r := testutil.NewReceiver(t, string(p))
			prov := setup(t, WithProtocol(p), WithEndpoint(r.URL()), WithServiceName("shutdown-only"))
			e := emit(t, prov)
			shutdown(t, prov)
			checkData(t, r, e, "shutdown-only")
		})
	}
}

func TestEnvironment(t *testing.T) {
	// No option at all: the exporters and the resource read everything from
	// the standard variables.
	for _, p := range []Protocol{GRPC, HTTP} {
		t.Run(string(p), func(t *testing.T) {
			clearEnv(t)
			r := testutil.NewReceiver(t, string(p))
			t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", string(p))
			t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", r.URL())
			t.Setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-env-token=from-env, x-spaced = a%20b%2Cc")
			t.Setenv("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip")
			t.Setenv("OTEL_SERVICE_NAME", "env-service")
			t.Setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment.name=staging")

			prov := setup(t)
			e := emit(t, prov)
			shutdown(t, prov)

			checkData(t, r, e, "env-service")
			checkHeaders(t, r, allSignals, map[string]string{"x-env-token": "from-env", "x-spaced": "a b,c"})
			for _, s := range r.Spans() {
				checkAttrs(t, "span resource", testutil.Attrs(s.Resource.GetAttributes()), map[string]any{"deployment.environment.name": "staging"})
			}
			encs := r.ContentEncodings()
			if len(encs) < 3 {
				t.Errorf("saw the encoding of %d requests, want one for each of at least 3", len(encs))
			}
			for _, enc := range encs {
				if enc != "gzip" {
					t.Errorf("request encoding %q, want gzip", enc)
				}
			}
			if p == HTTP {
				for _, s := range allSignals {
					for _, req := range r.Got(wire(s)) {
						if req.Path != s.path() {
							t.Errorf("%s posted to %s, want %s", s, req.Path, s.path())
						}
					}
				}
			}
		})
	}
}

func TestEnvironmentPerSignal(t *testing.T) {
	// Traces go over HTTP to their own endpoint, path and headers; metrics
	// and logs take the general variables, over gRPC.
	clearEnv(t)
	g, h := testutil.NewReceiver(t, string(GRPC)), testutil.NewReceiver(t, string(HTTP))
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", g.URL())
	t.Setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-env-token=general")
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/protobuf")
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", h.URL()+"/custom/v1/traces")
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "x-traces-token=traces-only")
	t.Setenv("OTEL_SERVICE_NAME", "per-signal")

	p := setup(t)
	e := emit(t, p)
	shutdown(t, p)

	checkTraces(t, h, e, "per-signal")
	checkMetrics(t, g, "per-signal")
	checkLogs(t, g, e, "per-signal")
	checkHeaders(t, h, []signal{traces}, map[string]string{"x-traces-token": "traces-only"}, "x-env-token")
	checkHeaders(t, g, []signal{metrics, logs}, map[string]string{"x-env-token": "general"}, "x-traces-token")
	for _, req := range h.Got(wire(traces)) {
		if req.Path != "/custom/v1/traces" {
			t.Errorf("traces posted to %s, want /custom/v1/traces", req.Path)
		}
	}
	if n := len(g.Got(wire(traces))); n != 0 {
		t.Errorf("gRPC receiver got %d trace requests, want 0", n)
	}
	if n := len(h.Got(wire(metrics))) + len(h.Got(wire(logs))); n != 0 {
		t.Errorf("HTTP receiver got %d metric and log requests, want 0", n)
	}
}

func TestOptionsOverrideEnvironment(t *testing.T) {
	// The environment points at an HTTP receiver; the options at a gRPC
	// one, which must get everything.
	clearEnv(t)
	envR, optR := testutil.NewReceiver(t, string(HTTP)), testutil.NewReceiver(t, string(GRPC))
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", envR.URL())
	t.Setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-token=from-env,x-env-only=kept")
	t.Setenv("OTEL_EXPORTER_OTLP_METRICS_HEADERS", "x-metrics-env=replaces-general")
	t.Setenv("OTEL_RESOURCE_ATTRIBUTES", "team=env,tier=gold")

	p := setup(t,
		WithProtocol(GRPC),
		WithEndpoint(optR.Addr),
		WithInsecure(),
		WithHeaders(map[string]string{"x-token": "from-option"}),
		WithServiceName("option-service"),
		WithResource(resource.NewSchemaless(attribute.String("team", "option"))),
	)
	e := emit(t, p)
	shutdown(t, p)

	if n := envR.Count(); n != 0 {
		t.Errorf("the environment's receiver got %d requests, want 0", n)
	}
	checkData(t, optR, e, "option-service")
	// Option headers are set over the environment's, which are kept.
	checkHeaders(t, optR, []signal{traces, logs}, map[string]string{"x-token": "from-option", "x-env-only": "kept"}, "x-metrics-env")
	checkHeaders(t, optR, []signal{metrics}, map[string]string{"x-token": "from-option", "x-metrics-env": "replaces-general"}, "x-env-only")
	for _, s := range optR.Spans() {
		checkAttrs(t, "span resource", testutil.Attrs(s.Resource.GetAttributes()), map[string]any{"team": "option", "tier": "gold"})
	}
}

func TestSignalsOff(t *testing.T) {
	clearEnv(t)
	r := testutil.NewReceiver(t, string(GRPC))
	t.Setenv("OTEL_METRICS_EXPORTER", "none")
	t.Setenv("OTEL_LOGS_EXPORTER", "none")
	p := setup(t, Collector(r.Addr))
	if p.MeterProvider == nil || p.LoggerProvider == nil {
		t.Fatal("a provider is nil")
	}
	emit(t, p)
	shutdown(t, p)
	if got := len(r.Spans()); got != 2 {
		t.Errorf("got %d spans, want 2", got)
	}
	if n := len(r.Got(wire(metrics))) + len(r.Got(wire(logs))); n != 0 {
		t.Errorf("got %d metric and log requests, want 0", n)
	}
}

// OTEL_<SIGNAL>_EXPORTER=console sends the signal to stdout, beside OTLP
// when the list also says otlp.
func TestConsoleExporters(t *testing.T) {
	clearEnv(t)
	r := testutil.NewReceiver(t, string(GRPC))
	t.Setenv("OTEL_TRACES_EXPORTER", "console")
	t.Setenv("OTEL_METRICS_EXPORTER", "otlp, console")
	t.Setenv("OTEL_LOGS_EXPORTER", "CONSOLE")
	// The console exporters write to os.Stdout as it is when they are made.
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout := os.Stdout
	os.Stdout = pw
	p, err := Setup(testContext(t), Collector(r.Addr))
	os.Stdout = stdout
	if err != nil {
		t.Fatal(err)
	}
	out := make(chan string)
	go func() {
		b, _ := io.ReadAll(pr)
		out <- string(b)
	}()
	emit(t, p)
	shutdown(t, p)
	pw.Close()
	got := <-out
	for _, want := range []string{"plugin.call", "└─ guest.span", "plugin.calls counter 5", `"Body":{"Type":"STRING","Value":"guest says hi"}`} {
		if !strings.Contains(got, want) {
			t.Errorf("stdout has no %q:\n%s", want, got)
		}
	}
	if n := len(r.Spans()) + len(r.Got(wire(logs))); n != 0 {
		t.Errorf("the OTLP receiver got %d spans and log requests, want none", n)
	}
	if len(r.Got(wire(metrics))) == 0 {
		t.Error("the OTLP receiver got no metrics")
	}
}

func TestBatchTimeout(t *testing.T) {
	// With the default 5 s delay the span would not arrive within the wait
	// below; with 10 ms it arrives without a flush.
	clearEnv(t)
	r := testutil.NewReceiver(t, string(GRPC))
	p := setup(t, Collector(r.Addr), WithBatchTimeout(10*time.Millisecond), WithMaxQueueSize(16384))
	defer shutdown(t, p)
	_, span := p.TracerProvider.Tracer("otlp-test").Start(context.Background(), "timed")
	span.End()
	select {
	case s := <-r.Arrived:
		if s != wire(traces) {
			t.Fatalf("first export was %s, want traces", s)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("the span was not exported within 3 s of a 10 ms batch timeout")
	}
	if spans := r.Spans(); len(spans) != 1 || spans[0].Span.GetName() != "timed" {
		t.Errorf("got spans %v, want timed", spans)
	}
}

func TestSetupErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		opts []Option
		want string
	}{
		{"unsupported protocol option", nil, []Option{WithProtocol("http/json")}, `protocol "http/json"`},
		{"unsupported protocol env", map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"}, nil, "OTEL_EXPORTER_OTLP_PROTOCOL"},
		{"unsupported per-signal protocol env", map[string]string{"OTEL_EXPORTER_OTLP_LOGS_PROTOCOL": "thrift"}, nil, "OTEL_EXPORTER_OTLP_LOGS_PROTOCOL"},
		{"endpoint scheme", nil, []Option{WithEndpoint("ftp://collector:21")}, `endpoint "ftp://collector:21"`},
		{"endpoint without host", nil, []Option{WithEndpoint("http:///v1")}, "endpoint"},
		{"unknown exporter", map[string]string{"OTEL_TRACES_EXPORTER": "otpl"}, nil, `OTEL_TRACES_EXPORTER="otpl": unknown exporter "otpl"`},
		{"unknown exporter in a list", map[string]string{"OTEL_LOGS_EXPORTER": "console, zipkin"}, nil, `unknown exporter "zipkin"`},
		{"none with another", map[string]string{"OTEL_METRICS_EXPORTER": "none,otlp"}, nil, "cannot be combined"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clearEnv(t)
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			p, err := Setup(testContext(t), tc.opts...)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "otlp: ") {
				t.Errorf("Setup error %v, want one with %q", err, tc.want)
			}
			if p != nil {
				t.Errorf("Setup returned providers with its error")
			}
		})
	}

	// A signal that is off does not need a valid protocol.
	t.Run("disabled signal", func(t *testing.T) {
		clearEnv(t)
		t.Setenv("OTEL_EXPORTER_OTLP_LOGS_PROTOCOL", "thrift")
		t.Setenv("OTEL_LOGS_EXPORTER", "none")
		r := testutil.NewReceiver(t, string(GRPC))
		p := setup(t, Collector(r.Addr))
		shutdown(t, p)
	})
}

func TestNilProviders(t *testing.T) {
	var p *Providers
	if err := p.ForceFlush(context.Background()); err != nil {
		t.Error(err)
	}
	if err := p.Shutdown(context.Background()); err != nil {
		t.Error(err)
	}
}

// wire is the receiver's name for signal s: the two number them alike
// (TestWireSignals).
func wire(s signal) testutil.Signal { return testutil.Signal(s) }

func TestWireSignals(t *testing.T) {
	for _, s := range allSignals {
		if wire(s).String() != s.String() {
			t.Errorf("signal %s is %s to the receiver", s, wire(s))
		}
	}
}
