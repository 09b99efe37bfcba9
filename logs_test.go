package observe_test

import (
	"context"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"

	lognoop "go.opentelemetry.io/otel/log/noop"

	extism "github.com/extism/go-sdk"
	"github.com/rs/zerolog"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
	otellog "go.opentelemetry.io/otel/log"
	sdklog "go.opentelemetry.io/otel/sdk/log"

	"github.com/extism-observe/observe"
)

// logStore is an sdklog.Exporter that keeps what the real SDK pipeline
// exports.
type logStore struct {
	mu      sync.Mutex
	records []sdklog.Record
}

func (s *logStore) Export(_ context.Context, rs []sdklog.Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range rs {
		s.records = append(s.records, r.Clone())
	}
	return nil
}
func (*logStore) Shutdown(context.Context) error   { return nil }
func (*logStore) ForceFlush(context.Context) error { return nil }

func newLogPipeline(t *testing.T) (*sdklog.LoggerProvider, *logStore) {
	store := &logStore{}
	lp := sdklog.NewLoggerProvider(sdklog.WithProcessor(sdklog.NewSimpleProcessor(store)))
	t.Cleanup(func() { _ = lp.Shutdown(context.Background()) })
	return lp, store
}

func TestGuestLogsReachOpenTelemetryLogs(t *testing.T) {
	lp, store := newLogPipeline(t)
	h := newHarness(t, observe.WithLoggerProvider(lp))
	p := h.plugin("cguest.wasm", false)
	req := h.request(func(ctx context.Context) {
		if _, err := call(t, p, ctx, "run"); err != nil {
			t.Fatal(err)
		}
	})
	s := h.spans(req.TraceID())
	type rec struct {
		sev  otellog.Severity
		body string
		span string
	}
	var got []rec
	for _, r := range store.records {
		if r.TraceID() != req.TraceID() {
			t.Errorf("record %q not in the caller's trace", r.Body().AsString())
		}
		got = append(got, rec{r.Severity(), r.Body().AsString(), r.SpanID().String()})
	}
	hr, db := s["handle_request"].SpanContext().SpanID().String(), s["db.query"].SpanContext().SpanID().String()
	want := []rec{
		{otellog.SeverityInfo, "handling request", hr},
		{otellog.SeverityDebug, "SELECT 1", db},
		{otellog.SeverityError, "error message", hr},
		{otellog.SeverityWarn, "warn message", hr},
		{otellog.SeverityTrace, "trace message", hr},
	}
	if !slices.Equal(got, want) {
		t.Errorf("log records:\n got %v\nwant %v", got, want)
	}
}

func TestExtismPDKLogs(t *testing.T) {
	extism.SetLogLevel(extism.LogLevelTrace)
	t.Cleanup(func() { extism.SetLogLevel(extism.LogLevelOff) })
	lp, store := newLogPipeline(t)
	h := newHarness(t, observe.WithExtismLogs(), observe.WithLoggerProvider(lp))
	p := h.plugin("pdklog.wasm", false)
	req := h.request(func(ctx context.Context) {
		if _, err := call(t, p, ctx, "run"); err != nil {
			t.Fatal(err)
		}
	})
	s := h.spans(req.TraceID())
	work, run := s["pdk.work"].SpanContext().SpanID().String(), s["run"].SpanContext().SpanID().String()
	type line struct{ level, msg, span, source string }
	var got []line
	for _, l := range h.logLines() {
		got = append(got, line{l["level"].(string), l["message"].(string), l["span_id"].(string), l["source"].(string)})
	}
	if want := []line{{"info", "hello from a pdk", work, "extism"}, {"warn", "careful", run, "extism"}}; !slices.Equal(got, want) {
		t.Errorf("zerolog:\n got %v\nwant %v", got, want)
	}
	if got := logEvents(s["pdk.work"]); !slices.Equal(got, []string{"info hello from a pdk"}) {
		t.Errorf("pdk.work events %q", got)
	}
	if len(store.records) != 2 || store.records[0].SpanID().String() != work || store.records[1].Severity() != otellog.SeverityWarn {
		t.Errorf("OpenTelemetry records %v", store.records)
	}
}

// Without WithExtismLogs, Extism logs are the Extism SDK's business only.
func TestExtismPDKLogsOffByDefault(t *testing.T) {
	extism.SetLogLevel(extism.LogLevelTrace)
	t.Cleanup(func() { extism.SetLogLevel(extism.LogLevelOff) })
	h := newHarness(t)
	p := h.plugin("pdklog.wasm", false)
	p.SetLogger(func(extism.LogLevel, string) {})
	h.request(func(ctx context.Context) {
		if _, err := call(t, p, ctx, "run"); err != nil {
			t.Fatal(err)
		}
	})
	if lines := h.logLines(); len(lines) != 0 {
		t.Errorf("logs %v", lines)
	}
}

// WithExtismLogs honours the logger's level: a PDK log below it is neither
// read nor recorded, and its listener allocates nothing. The baseline has
// an empty wazero listener on the same functions, since wazero's listener
// call itself costs an allocation.
func TestExtismPDKLogsBelowTheLevelCostNothing(t *testing.T) {
	extism.SetLogLevel(extism.LogLevelTrace)
	t.Cleanup(func() { extism.SetLogLevel(extism.LogLevelOff) })
	allocs := func(ctx context.Context, opts ...observe.Option) (float64, *harness) {
		h := newHarness(t, opts...)
		p, err := extism.NewPlugin(h.obs.Context(ctx), manifest(t, "pdklog.wasm"), extism.PluginConfig{}, h.obs.HostFunctions())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { p.Close(context.Background()) })
		p.SetLogger(func(extism.LogLevel, string) {}) // the SDK's own handling, the same on both sides
		call(t, p, context.Background(), "run")
		return testing.AllocsPerRun(50, func() { call(t, p, context.Background(), "run") }), h
	}
	quiet := []observe.Option{observe.WithLogger(zerolog.New(io.Discard).Level(zerolog.ErrorLevel)),
		observe.WithLoggerProvider(lognoop.NewLoggerProvider())}
	baseline, _ := allocs(experimental.WithFunctionListenerFactory(context.Background(), emptyLogListeners{}), quiet...)
	with, h := allocs(context.Background(), append(quiet, observe.WithExtismLogs())...)
	if with > baseline {
		t.Errorf("PDK logs below the level: %v allocs per call, %v with empty listeners instead", with, baseline)
	}
	for _, s := range h.rec.Ended() {
		if len(logEvents(s)) != 0 {
			t.Errorf("span %s recorded a log below the level: %v", s.Name(), logEvents(s))
		}
	}
}

// emptyLogListeners puts a listener that does nothing on Extism's log
// functions.
type emptyLogListeners struct{}

func (emptyLogListeners) NewFunctionListener(def api.FunctionDefinition) experimental.FunctionListener {
	if def.ModuleName() == "extism:host/env" && strings.HasPrefix(def.Name(), "log_") {
		return emptyLogListener{}
	}
	return nil
}

type emptyLogListener struct{}

func (emptyLogListener) Before(context.Context, api.Module, api.FunctionDefinition, []uint64, experimental.StackIterator) {
}
func (emptyLogListener) After(context.Context, api.Module, api.FunctionDefinition, []uint64) {}
func (emptyLogListener) Abort(context.Context, api.Module, api.FunctionDefinition, error)    {}

// Guest log lines carry the trace fields the OpenTelemetry specification
// gives logs outside OTLP: trace_id, span_id and trace_flags.
func TestLogLinesCarryTraceFlags(t *testing.T) {
	h := newHarness(t)
	p := h.plugin("cguest.wasm", false)
	req := h.request(func(ctx context.Context) { call(t, p, ctx, "run") })
	var n int
	for _, l := range h.logLines() {
		if l["trace_id"] != req.TraceID().String() {
			continue
		}
		n++
		if l["trace_flags"] != "01" || l["span_id"] == nil {
			t.Errorf("log line %v, want trace_flags 01 and a span_id", l)
		}
	}
	if n == 0 {
		t.Fatalf("no log line in the trace: %v", h.logLines())
	}
}
