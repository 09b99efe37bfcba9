package observe_test

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"

	extism "github.com/extism/go-sdk"
	"github.com/rs/zerolog"
	"github.com/tetratelabs/wazero"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/extism-observe/observe"

	"github.com/extism-observe/observe/internal/conv"

	"github.com/extism-observe/observe/internal/testutil"
)

// harness is a real OpenTelemetry SDK pipeline with in-memory readers and a
// zerolog logger writing JSON to a buffer, around one Observer.
type harness struct {
	t      testing.TB
	rec    *tracetest.SpanRecorder
	tp     *sdktrace.TracerProvider
	reader *sdkmetric.ManualReader
	mp     *sdkmetric.MeterProvider
	logs   *testutil.Buffer
	obs    *observe.Observer
}

func newHarness(t testing.TB, opts ...observe.Option) *harness {
	t.Helper()
	h := &harness{t: t, rec: tracetest.NewSpanRecorder(), reader: sdkmetric.NewManualReader(), logs: &testutil.Buffer{}}
	h.tp = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(h.rec))
	h.mp = sdkmetric.NewMeterProvider(sdkmetric.WithReader(h.reader))
	t.Cleanup(func() {
		_ = h.tp.Shutdown(context.Background())
		_ = h.mp.Shutdown(context.Background())
	})
	logger := zerolog.New(h.logs).Level(zerolog.TraceLevel)
	all := append([]observe.Option{
		observe.WithTracerProvider(h.tp),
		observe.WithMeterProvider(h.mp),
		observe.WithLogger(logger),
	}, opts...)
	h.obs = observe.New(all...)
	return h
}

func wasm(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func manifest(t testing.TB, name string) extism.Manifest {
	return extism.Manifest{Wasm: []extism.Wasm{extism.WasmData{Data: wasm(t, name)}}}
}

// bigGuests are compiled once for the whole test binary, through a shared
// compilation cache (as apps do): the 1.8 MB Go guest takes seconds to
// compile, the more so under the race detector.
var (
	bigGuests  = map[string]bool{"goguest.wasm": true}
	sharedOnce sync.Once
	shared     wazero.CompilationCache
)

// plugin creates a plugin of testdata/name the way an app enables the
// observer: its ctx and its host functions.
func (h *harness) plugin(name string, wasi bool, extra ...extism.HostFunction) *extism.Plugin {
	h.t.Helper()
	ctx := h.obs.Context(context.Background())
	cfg := extism.PluginConfig{EnableWasi: wasi}
	if bigGuests[name] {
		sharedOnce.Do(func() { shared = wazero.NewCompilationCache() })
		cfg.RuntimeConfig = wazero.NewRuntimeConfig().WithCompilationCache(shared)
	}
	p, err := extism.NewPlugin(ctx, manifest(h.t, name), cfg,
		append(h.obs.HostFunctions(), extra...))
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { _ = p.Close(context.Background()) })
	return p
}

// request runs fn inside a caller span named "request" and returns that
// span's context.
func (h *harness) request(fn func(ctx context.Context)) trace.SpanContext {
	ctx, span := h.tp.Tracer("test").Start(context.Background(), "request")
	fn(ctx)
	span.End()
	return span.SpanContext()
}

// spans returns the ended spans of one trace, by name; it fails on a
// duplicate name.
func (h *harness) spans(tid trace.TraceID) map[string]sdktrace.ReadOnlySpan {
	h.t.Helper()
	m := map[string]sdktrace.ReadOnlySpan{}
	for _, s := range h.rec.Ended() {
		if s.SpanContext().TraceID() != tid {
			continue
		}
		if _, dup := m[s.Name()]; dup {
			h.t.Fatalf("two spans named %q", s.Name())
		}
		m[s.Name()] = s
	}
	return m
}

// tree renders the spans of a trace as "parent > child" lines, sorted.
func tree(spans []sdktrace.ReadOnlySpan) []string {
	byID := map[trace.SpanID]sdktrace.ReadOnlySpan{}
	for _, s := range spans {
		byID[s.SpanContext().SpanID()] = s
	}
	var lines []string
	for _, s := range spans {
		path := s.Name()
		for p := s.Parent(); p.IsValid(); {
			ps, ok := byID[p.SpanID()]
			if !ok {
				path = "?" + " > " + path
				break
			}
			path = ps.Name() + " > " + path
			p = ps.Parent()
		}
		lines = append(lines, path)
	}
	sort.Strings(lines)
	return lines
}

func (h *harness) tree(tid trace.TraceID) []string {
	var spans []sdktrace.ReadOnlySpan
	for _, s := range h.rec.Ended() {
		if s.SpanContext().TraceID() == tid {
			spans = append(spans, s)
		}
	}
	return tree(spans)
}

func attrs(s sdktrace.ReadOnlySpan) map[string]any {
	m := map[string]any{}
	for _, kv := range s.Attributes() {
		m[string(kv.Key)] = kv.Value.AsInterface()
	}
	return m
}

// logEvents returns the "log" events of a span as "severity message".
func logEvents(s sdktrace.ReadOnlySpan) []string {
	var out []string
	for _, e := range s.Events() {
		if e.Name != "log" {
			continue
		}
		var sev, msg string
		for _, kv := range e.Attributes {
			switch kv.Key {
			case conv.LogSeverity:
				sev = kv.Value.AsString()
			case conv.LogMessage:
				msg = kv.Value.AsString()
			}
		}
		out = append(out, sev+" "+msg)
	}
	return out
}

// logLines decodes the zerolog JSON output.
func (h *harness) logLines() []map[string]any {
	h.t.Helper()
	return h.logs.Lines(h.t)
}

// metrics collects the metric data, by instrument name.
func (h *harness) metrics() map[string]metricdata.Metrics {
	h.t.Helper()
	var rm metricdata.ResourceMetrics
	if err := h.reader.Collect(context.Background(), &rm); err != nil {
		h.t.Fatal(err)
	}
	m := map[string]metricdata.Metrics{}
	for _, sm := range rm.ScopeMetrics {
		for _, md := range sm.Metrics {
			m[md.Name] = md
		}
	}
	return m
}

// dropped returns the observe.dropped counts by reason.
func (h *harness) dropped() map[string]int64 {
	out := map[string]int64{}
	md, ok := h.metrics()["observe.dropped"]
	if !ok {
		return out
	}
	for _, dp := range md.Data.(metricdata.Sum[int64]).DataPoints {
		r, _ := dp.Attributes.Value("reason")
		out[r.AsString()] += dp.Value
	}
	return out
}

func attrSet(kvs ...attribute.KeyValue) attribute.Set { return attribute.NewSet(kvs...) }
