package observe_test

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sync"
	"testing"

	lognoop "go.opentelemetry.io/otel/log/noop"

	extism "github.com/extism/go-sdk"
	"github.com/rs/zerolog"
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

// Extism PDK logs reach the observer by default, with the trace and span
// IDs of the innermost guest span, while the plugin's own logger still gets
// every message, and gets the plugin back when the call ends.
func TestExtismPDKLogs(t *testing.T) {
	extism.SetLogLevel(extism.LogLevelTrace)
	t.Cleanup(func() { extism.SetLogLevel(extism.LogLevelOff) })
	lp, store := newLogPipeline(t)
	h := newHarness(t, observe.WithLoggerProvider(lp))
	p := h.plugin("pdklog.wasm", false)
	var app []string
	p.SetLogger(func(l extism.LogLevel, msg string) { app = append(app, l.String()+" "+msg) })
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

	// After the call the plugin's logger is the app's alone.
	p.Log(extism.LogLevelError, "after the call")
	if want := []string{"INFO hello from a pdk", "WARN careful", "ERROR after the call"}; !slices.Contains(app, want[0]) ||
		!slices.Contains(app, want[1]) || app[len(app)-1] != want[2] {
		t.Errorf("the app's logger got %q, want %q among them, the last last", app, want)
	}
	if n := len(h.logLines()); n != 2 {
		t.Errorf("%d log lines after a log outside the call, want 2", n)
	}
}

// With WithExtismLogs(false), Extism logs are the Extism SDK's business only.
func TestExtismPDKLogsTurnedOff(t *testing.T) {
	extism.SetLogLevel(extism.LogLevelTrace)
	t.Cleanup(func() { extism.SetLogLevel(extism.LogLevelOff) })
	h := newHarness(t, observe.WithExtismLogs(false))
	p := h.plugin("pdklog.wasm", false)
	var app int
	p.SetLogger(func(extism.LogLevel, string) { app++ })
	h.request(func(ctx context.Context) {
		if _, err := call(t, p, ctx, "run"); err != nil {
			t.Fatal(err)
		}
	})
	if lines := h.logLines(); len(lines) != 0 {
		t.Errorf("logs %v", lines)
	}
	if app < 2 {
		t.Errorf("the app's logger got %d messages", app)
	}
}

// Extism logs honour the logger's level: a PDK log below it is neither
// copied nor recorded, and costs no allocation beyond the same calls with
// Extism logs off.
func TestExtismPDKLogsBelowTheLevelCostNothing(t *testing.T) {
	extism.SetLogLevel(extism.LogLevelTrace)
	t.Cleanup(func() { extism.SetLogLevel(extism.LogLevelOff) })
	allocs := func(opts ...observe.Option) (float64, *harness) {
		h := newHarness(t, opts...)
		p, err := extism.NewPlugin(h.obs.Context(context.Background()), manifest(t, "pdklog.wasm"), extism.PluginConfig{}, h.obs.HostFunctions())
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
	baseline, _ := allocs(append(quiet, observe.WithExtismLogs(false))...)
	with, h := allocs(quiet...)
	switch {
	case raceEnabled:
		t.Logf("under the race detector allocation counts vary: %v allocs per call, %v with Extism logs off", with, baseline)
	case with > baseline:
		t.Errorf("PDK logs below the level: %v allocs per call, %v with Extism logs off", with, baseline)
	}
	for _, s := range h.rec.Ended() {
		if len(logEvents(s)) != 0 {
			t.Errorf("span %s recorded a log below the level: %v", s.Name(), logEvents(s))
		}
	}
}

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

// A PDK log longer than Limits.MaxStringBytes is truncated, said so on the
// line, and counted; the call goes on.
func TestExtismPDKLogTruncated(t *testing.T) {
	extism.SetLogLevel(extism.LogLevelTrace)
	t.Cleanup(func() { extism.SetLogLevel(extism.LogLevelOff) })
	h := newHarness(t, observe.WithLimits(observe.Limits{MaxStringBytes: 5}))
	p := h.plugin("pdklog.wasm", false)
	p.SetLogger(func(extism.LogLevel, string) {})
	h.request(func(ctx context.Context) {
		if _, err := call(t, p, ctx, "run"); err != nil {
			t.Fatal(err)
		}
	})
	var got []string
	for _, l := range h.logLines() {
		if l["source"] == "extism" {
			got = append(got, fmt.Sprintf("%v %v", l["message"], l["truncated"]))
		}
	}
	if want := []string{"hello true", "caref true"}; !slices.Equal(got, want) {
		t.Errorf("PDK log lines %q, want %q", got, want)
	}
	// The two logs, and the guest's span name "pdk.work".
	if n := h.dropped()["truncated"]; n != 3 {
		t.Errorf("observe.dropped{reason=truncated} = %d, want 3", n)
	}
}
