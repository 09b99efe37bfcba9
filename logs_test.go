package observe_test

import (
	"context"
	"slices"
	"sync"
	"testing"

	extism "github.com/extism/go-sdk"
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
