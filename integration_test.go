package observe_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	extism "github.com/extism/go-sdk"
	"github.com/rs/zerolog"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/extism-observe/observe"
)

func call(t testing.TB, p *extism.Plugin, ctx context.Context, fn string) (uint32, error) {
	t.Helper()
	rc, _, err := p.CallWithContext(ctx, fn, nil)
	return rc, err
}

func TestCGuestSpansTagsLogsMetrics(t *testing.T) {
	h := newHarness(t)
	p := h.plugin("cguest.wasm", false)
	req := h.request(func(ctx context.Context) {
		if rc, err := call(t, p, ctx, "run"); rc != 0 || err != nil {
			t.Fatalf("run: rc=%d err=%v", rc, err)
		}
	})

	if got, want := h.tree(req.TraceID()), []string{
		"request",
		"request > run",
		"request > run > handle_request",
		"request > run > handle_request > db.query",
	}; !slices.Equal(got, want) {
		t.Fatalf("tree:\n got %q\nwant %q", got, want)
	}
	s := h.spans(req.TraceID())
	run, hr, db := s["run"], s["handle_request"], s["db.query"]
	if run.Parent().SpanID() != req.SpanID() {
		t.Errorf("call span's parent is %v, want the caller's span %v", run.Parent().SpanID(), req.SpanID())
	}
	if got := attrs(run); got["extism.function"] != "run" || got["code.function.name"] != "run" || !strings.HasPrefix(got["extism.module"].(string), "main_") || got["extism.return_code"] != int64(0) {
		t.Errorf("call span attributes: %v", got)
	}
	if run.Status().Code != codes.Unset {
		t.Errorf("call span status %v", run.Status())
	}
	wantTags := map[string]any{"http.method": "GET", "http.url": "https://example.com:8443/a?b=c", "cached": true}
	if got := attrs(hr); fmt.Sprint(got) != fmt.Sprint(wantTags) {
		t.Errorf("handle_request attributes:\n got %v\nwant %v", got, wantTags)
	}
	if got := attrs(db); fmt.Sprint(got) != fmt.Sprint(map[string]any{"db.system": "sqlite"}) {
		t.Errorf("db.query attributes: %v", got)
	}
	if got, want := logEvents(hr), []string{"info handling request", "error error message", "warn warn message", "trace trace message"}; !slices.Equal(got, want) {
		t.Errorf("handle_request log events:\n got %q\nwant %q", got, want)
	}
	if got, want := logEvents(db), []string{"debug SELECT 1"}; !slices.Equal(got, want) {
		t.Errorf("db.query log events: %q, want %q", got, want)
	}
	for _, sp := range []sdktrace.ReadOnlySpan{hr, db} {
		if sp.Status().Code != codes.Unset {
			t.Errorf("%s status %v", sp.Name(), sp.Status())
		}
		if sp.EndTime().Before(sp.StartTime()) || sp.EndTime().After(run.EndTime()) || sp.StartTime().Before(run.StartTime()) {
			t.Errorf("%s is not inside the call span in time", sp.Name())
		}
	}

	// Logs: every level, with the IDs of the span they were written in.
	type logLine struct{ level, msg, span string }
	var got []logLine
	for _, l := range h.logLines() {
		if l["trace_id"] != req.TraceID().String() {
			t.Errorf("log %v: trace_id is not the caller's", l)
		}
		if l["function"] != "run" || !strings.HasPrefix(fmt.Sprint(l["module"]), "main_") {
			t.Errorf("log %v: missing call identity", l)
		}
		got = append(got, logLine{fmt.Sprint(l["level"]), fmt.Sprint(l["message"]), fmt.Sprint(l["span_id"])})
	}
	hrID, dbID := hr.SpanContext().SpanID().String(), db.SpanContext().SpanID().String()
	want := []logLine{
		{"info", "handling request", hrID},
		{"debug", "SELECT 1", dbID},
		{"error", "error message", hrID},
		{"warn", "warn message", hrID},
		{"trace", "trace message", hrID},
	}
	if !slices.Equal(got, want) {
		t.Errorf("logs:\n got %v\nwant %v", got, want)
	}

	// Metrics: every statsd type.
	m := h.metrics()
	sumOf := func(name string, set attribute.Set) float64 {
		t.Helper()
		for _, dp := range m[name].Data.(metricdata.Sum[float64]).DataPoints {
			if dp.Attributes.Equals(&set) {
				return dp.Value
			}
		}
		t.Errorf("%s: no data point with %v", name, set.ToSlice())
		return 0
	}
	if v := sumOf("db.queries", attrSet(attribute.String("table", "users"))); v != 1 {
		t.Errorf("db.queries = %v, want 1", v)
	}
	if v := sumOf("requests", attrSet()); v != 4 {
		t.Errorf("requests = %v, want 4 (2 at sample rate 0.5)", v)
	}
	if dps := m["queue.depth"].Data.(metricdata.Gauge[float64]).DataPoints; len(dps) != 1 || dps[0].Value != 12 {
		t.Errorf("queue.depth = %+v, want 12 (10, +5, -3)", dps)
	}
	hist := func(name string) metricdata.HistogramDataPoint[float64] {
		t.Helper()
		dps := m[name].Data.(metricdata.Histogram[float64]).DataPoints
		if len(dps) != 1 {
			t.Fatalf("%s: %d data points", name, len(dps))
		}
		return dps[0]
	}
	if dp := hist("latency"); dp.Count != 1 || dp.Sum != 12.5 || m["latency"].Unit != "ms" || dp.Attributes.Len() != 1 {
		t.Errorf("latency = %+v unit %q", dp, m["latency"].Unit)
	}
	if dp := hist("size"); dp.Count != 1 || dp.Sum != 512 {
		t.Errorf("size = %+v", dp)
	}
	if dp := hist("payload"); dp.Count != 1 || dp.Sum != 42 {
		t.Errorf("payload = %+v", dp)
	}
	// The counter recorded inside db.query has an exemplar pointing at it.
	ex := m["db.queries"].Data.(metricdata.Sum[float64]).DataPoints[0].Exemplars
	if len(ex) != 1 || trace.SpanID(ex[0].SpanID) != db.SpanContext().SpanID() || trace.TraceID(ex[0].TraceID) != req.TraceID() {
		t.Errorf("db.queries exemplars %+v, want one in span db.query", ex)
	}
	if d := h.dropped(); len(d) != 0 {
		t.Errorf("dropped %v, want nothing", d)
	}
}

func TestLegacyNamespaceWideMemory(t *testing.T) {
	h := newHarness(t)
	p := h.plugin("legacy.wasm", false)
	req := h.request(func(ctx context.Context) {
		if _, err := call(t, p, ctx, "run"); err != nil {
			t.Fatal(err)
		}
	})
	if got, want := h.tree(req.TraceID()), []string{
		"request", "request > run", "request > run > legacy.outer", "request > run > legacy.outer > legacy.inner",
	}; !slices.Equal(got, want) {
		t.Fatalf("tree:\n got %q\nwant %q", got, want)
	}
	s := h.spans(req.TraceID())
	if got := attrs(s["legacy.outer"]); got["lang"] != "wat" {
		t.Errorf("legacy.outer attributes %v", got)
	}
	if got := logEvents(s["legacy.outer"]); !slices.Equal(got, []string{"info from wat"}) {
		t.Errorf("legacy.outer logs %q", got)
	}
	if got := h.metrics()["legacy.count"].Data.(metricdata.Sum[float64]).DataPoints[0].Value; got != 3 {
		t.Errorf("legacy.count = %v", got)
	}
	// The pointer above 4 GiB is rejected, logged and counted.
	if d := h.dropped(); d["bad_memory"] != 1 || len(d) != 1 {
		t.Errorf("dropped %v, want bad_memory 1", d)
	}
	if got := attrs(s["run"])["observe.dropped.bad_memory"]; got != int64(1) {
		t.Errorf("call span observe.dropped.bad_memory = %v", got)
	}
	if !h.logged("error", "above 4 GiB") {
		t.Errorf("no error log for the pointer above 4 GiB; logs: %v", h.logLines())
	}
}

// logged reports whether a log line at level contains substr.
func (h *harness) logged(level, substr string) bool {
	for _, l := range h.logLines() {
		if l["level"] == level && strings.Contains(fmt.Sprint(l["message"]), substr) {
			return true
		}
	}
	return false
}

func TestGoGuest(t *testing.T) {
	h := newHarness(t)
	p := h.plugin("goguest.wasm", true)
	for i := range 2 {
		req := h.request(func(ctx context.Context) {
			if rc, err := call(t, p, ctx, "run"); rc != 0 || err != nil {
				t.Fatalf("run: rc=%d err=%v", rc, err)
			}
		})
		want := []string{"request", "request > run", "request > run > go.handler", "request > run > go.handler > go.work"}
		if i == 0 {
			// Extism runs the reactor's _initialize inside the first call:
			// a span in that call's span.
			want = append([]string{"request > run > _initialize"}, want...)
			slices.Sort(want)
		}
		if got := h.tree(req.TraceID()); !slices.Equal(got, want) {
			t.Fatalf("call %d tree:\n got %q\nwant %q", i, got, want)
		}
		s := h.spans(req.TraceID())
		if got := attrs(s["go.handler"]); got["lang"] != "go" || got["runtime"] != "wasip1" {
			t.Errorf("go.handler attributes %v", got)
		}
	}
	if got := h.metrics()["go.items"].Data.(metricdata.Sum[float64]).DataPoints[0].Value; got != 14 {
		t.Errorf("go.items = %v, want 14", got)
	}
}

func TestTrapEndsOpenSpans(t *testing.T) {
	for _, tc := range []struct{ file, outer, inner string }{
		{"cguest.wasm", "outer", "inner"},
		{"legacy.wasm", "legacy.outer", ""},
	} {
		t.Run(tc.file, func(t *testing.T) {
			h := newHarness(t)
			p := h.plugin(tc.file, false)
			req := h.request(func(ctx context.Context) {
				if _, err := call(t, p, ctx, "trap"); err == nil || !strings.Contains(err.Error(), "unreachable") {
					t.Fatalf("trap: err=%v, want unreachable", err)
				}
			})
			s := h.spans(req.TraceID())
			if st := s["trap"].Status(); st.Code != codes.Error || !strings.Contains(st.Description, "unreachable") {
				t.Errorf("call span status %+v", st)
			}
			for _, name := range []string{tc.outer, tc.inner} {
				if name == "" {
					continue
				}
				st := s[name].Status()
				if st.Code != codes.Error || !strings.Contains(st.Description, "still open when the plugin call failed") ||
					!strings.Contains(st.Description, "unreachable") {
					t.Errorf("%s status %+v", name, st)
				}
			}
			if tc.inner != "" && s[tc.inner].Parent().SpanID() != s[tc.outer].SpanContext().SpanID() {
				t.Errorf("inner is not outer's child")
			}
		})
	}
}

func TestSpanLeftOpenIsEndedAndNotReused(t *testing.T) {
	h := newHarness(t)
	p := h.plugin("cguest.wasm", false)
	first := h.request(func(ctx context.Context) {
		if _, err := call(t, p, ctx, "leave_open"); err != nil {
			t.Fatal(err)
		}
	})
	st := h.spans(first.TraceID())["unclosed"].Status()
	if st.Code != codes.Error || st.Description != "span still open when the plugin call returned" {
		t.Errorf("unclosed status %+v", st)
	}
	if h.spans(first.TraceID())["leave_open"].Status().Code != codes.Unset {
		t.Errorf("the call itself succeeded")
	}
	// The next call on the same instance starts clean.
	second := h.request(func(ctx context.Context) {
		if _, err := call(t, p, ctx, "run"); err != nil {
			t.Fatal(err)
		}
	})
	if got := h.spans(second.TraceID())["handle_request"].Parent().SpanID(); got != h.spans(second.TraceID())["run"].SpanContext().SpanID() {
		t.Errorf("second call's span is not under its own call span")
	}
}

func TestNonZeroReturnIsError(t *testing.T) {
	h := newHarness(t)
	p := h.plugin("cguest.wasm", false)
	req := h.request(func(ctx context.Context) {
		if rc, _ := call(t, p, ctx, "fail"); rc != 1 {
			t.Fatalf("rc=%d", rc)
		}
	})
	s := h.spans(req.TraceID())
	if st := s["fail"].Status(); st.Code != codes.Error || st.Description != "plugin returned 1" {
		t.Errorf("status %+v", st)
	}
	if got := attrs(s["fail"])["extism.return_code"]; got != int64(1) {
		t.Errorf("return code attribute %v", got)
	}
	if s["failing"].Status().Code != codes.Unset {
		t.Errorf("the closed guest span is not an error")
	}
}

func TestBadMemoryIsDroppedAndLogged(t *testing.T) {
	h := newHarness(t)
	p := h.plugin("cguest.wasm", false)
	req := h.request(func(ctx context.Context) {
		if rc, err := call(t, p, ctx, "bad_memory"); rc != 0 || err != nil {
			t.Fatalf("rc=%d err=%v", rc, err)
		}
	})
	// The dropped span-enter takes its span-exit with it, so after.bad is
	// the call's child, and nothing is unbalanced.
	if got, want := h.tree(req.TraceID()), []string{"request", "request > bad_memory", "request > bad_memory > after.bad"}; !slices.Equal(got, want) {
		t.Fatalf("tree %q, want %q", got, want)
	}
	if d := h.dropped(); d["bad_memory"] != 2 || len(d) != 1 {
		t.Errorf("dropped %v, want bad_memory 2", d)
	}
	if !h.logged("error", "outside its memory; span name dropped") || !h.logged("error", "outside its memory; log message dropped") {
		t.Errorf("logs %v", h.logLines())
	}
}

func TestBadMetricsAreRejected(t *testing.T) {
	h := newHarness(t)
	p := h.plugin("cguest.wasm", false)
	h.request(func(ctx context.Context) {
		if rc, err := call(t, p, ctx, "bad_metrics"); rc != 0 || err != nil {
			t.Fatalf("rc=%d err=%v", rc, err)
		}
	})
	m := h.metrics()
	if got := m["ok.after.bad"].Data.(metricdata.Sum[float64]).DataPoints[0].Value; got != 1 {
		t.Errorf("ok.after.bad = %v", got)
	}
	for _, name := range []string{"no_value", "bad", "x", "set.metric"} {
		if _, ok := m[name]; ok {
			t.Errorf("metric %q recorded", name)
		}
	}
	if d := h.dropped(); d["bad_metric"] != 5 {
		t.Errorf("dropped %v, want bad_metric 5", d)
	}
	details := map[string]bool{}
	for _, l := range h.logLines() {
		if l["level"] == "error" && l["reason"] == "bad_metric" {
			details[fmt.Sprint(l["detail"])] = true
		}
	}
	for _, want := range []string{`"no_value|c"`, `"bad:abc|c"`, `"x:1|zz"`, `"set.metric:1|s"`, "format=7"} {
		if !details[want] {
			t.Errorf("no error log naming %s; got %v", want, details)
		}
	}
}

func TestPluginWithoutContextLogsOnce(t *testing.T) {
	h := newHarness(t)
	p, err := extism.NewPlugin(context.Background(), manifest(t, "cguest.wasm"), extism.PluginConfig{}, h.obs.HostFunctions())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(context.Background())
	req := h.request(func(ctx context.Context) {
		for range 3 {
			if rc, err := call(t, p, ctx, "run"); rc != 0 || err != nil {
				t.Fatalf("rc=%d err=%v", rc, err)
			}
		}
	})
	if got := h.tree(req.TraceID()); !slices.Equal(got, []string{"request"}) {
		t.Errorf("tree %q", got)
	}
	var n int
	for _, l := range h.logLines() {
		if l["reason"] == "no_context" {
			n++
			if !strings.Contains(fmt.Sprint(l["message"]), "observe.Context") {
				t.Errorf("message does not say how to fix it: %v", l["message"])
			}
		}
	}
	if n != 1 {
		t.Errorf("%d set-up errors logged, want 1; logs %v", n, h.logLines())
	}
}

func TestUnsampledCallerRecordsNothing(t *testing.T) {
	h := newHarness(t)
	p := h.plugin("cguest.wasm", false)
	// A caller whose span was not sampled, as a remote parent says.
	sc := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID{1, 2, 3}, SpanID: trace.SpanID{4, 5, 6}, Remote: true,
	})
	ctx := trace.ContextWithRemoteSpanContext(context.Background(), sc)
	if _, err := call(t, p, ctx, "run"); err != nil {
		t.Fatal(err)
	}
	if n := len(h.rec.Ended()); n != 0 {
		t.Errorf("%d spans recorded, want none", n)
	}
	// Logs still carry the trace, for correlation.
	lines := h.logLines()
	if len(lines) != 5 || lines[0]["trace_id"] != sc.TraceID().String() {
		t.Errorf("logs %v", lines)
	}
}

// With OpenTelemetry's no-op TracerProvider the call starts no span (the
// observer skips the no-op tracer's Start and the ctx it allocates), and
// what flows downstream is what that Start gives: the caller's span
// context, so logs and exemplars still point at the caller's trace, and
// the caller's own span is left as it was.
func TestNoopTracerProvider(t *testing.T) {
	h := newHarness(t, observe.WithTracerProvider(tracenoop.NewTracerProvider()))
	p := h.plugin("cguest.wasm", false)
	caller := h.request(func(ctx context.Context) {
		if _, err := call(t, p, ctx, "run"); err != nil {
			t.Fatal(err)
		}
	})
	ended := h.rec.Ended()
	if len(ended) != 1 || ended[0].Name() != "request" {
		t.Fatalf("spans %v, want the caller's only", tree(ended))
	}
	if s := ended[0]; len(s.Attributes()) != 0 || len(s.Events()) != 0 || s.Status().Code != codes.Unset {
		t.Errorf("the caller's span was written to: %v %v %v", s.Attributes(), s.Events(), s.Status())
	}
	lines := h.logLines()
	if len(lines) != 5 {
		t.Fatalf("logs %v", lines)
	}
	for _, l := range lines {
		if l["trace_id"] != caller.TraceID().String() || l["span_id"] != caller.SpanID().String() {
			t.Errorf("log %v: want the caller's trace_id and span_id", l)
		}
	}
	if len(h.metrics()) == 0 {
		t.Error("no metrics: the MeterProvider is not the no-op one")
	}
}

// With the no-op TracerProvider, SpanFromContext in a host function is a
// non-recording span with the caller's span context, which stays so after
// the call, when the next call reuses the call's state.
func TestNoopTracerProviderSpanFromContext(t *testing.T) {
	checkSpanFromContextIsTheCaller(t, newHarness(t, observe.WithTracerProvider(tracenoop.NewTracerProvider())))
}

// checkSpanFromContextIsTheCaller checks that SpanFromContext, in the host
// function of two calls of hostcall.wasm run, is a non-recording span with
// the caller's span context, as the no-op tracer gives.
func checkSpanFromContextIsTheCaller(t *testing.T, h *harness) {
	t.Helper()
	var seen []trace.Span
	var recording []bool // during the call: after it, the caller's span has ended
	appWork := extism.NewHostFunctionWithStack("app_work", func(ctx context.Context, _ *extism.CurrentPlugin, _ []uint64) {
		span := observe.SpanFromContext(ctx)
		seen, recording = append(seen, span), append(recording, span.IsRecording())
	}, nil, nil)
	p := h.plugin("hostcall.wasm", false, appWork)
	var callers []trace.SpanContext
	for range 2 {
		callers = append(callers, h.request(func(ctx context.Context) {
			if _, err := call(t, p, ctx, "run"); err != nil {
				t.Fatal(err)
			}
		}))
	}
	if len(seen) != 4 {
		t.Fatalf("app_work ran %d times, want 4", len(seen))
	}
	for i, span := range seen {
		if recording[i] || span.IsRecording() || !span.SpanContext().Equal(callers[i/2]) {
			t.Errorf("call %d: SpanFromContext is %v (recording %v, then %v), want the caller's %v",
				i/2, span.SpanContext(), recording[i], span.IsRecording(), callers[i/2])
		}
	}
}

func TestAppHostFunctionSeesGuestSpan(t *testing.T) {
	h := newHarness(t)
	var seen []string
	appWork := extism.NewHostFunctionWithStack("app_work", func(ctx context.Context, _ *extism.CurrentPlugin, _ []uint64) {
		parent := observe.SpanFromContext(ctx)
		_, span := h.tp.Tracer("app").Start(trace.ContextWithSpan(ctx, parent), "app.work")
		span.End()
		seen = append(seen, parent.(sdktrace.ReadOnlySpan).Name())
	}, nil, nil)
	p := h.plugin("hostcall.wasm", false, appWork)
	req := h.request(func(ctx context.Context) {
		if _, err := call(t, p, ctx, "run"); err != nil {
			t.Fatal(err)
		}
		if got := observe.SpanFromContext(ctx).SpanContext(); !got.Equal(trace.SpanContextFromContext(ctx)) {
			t.Errorf("outside a call, SpanFromContext is not the ctx's span")
		}
	})
	if !slices.Equal(seen, []string{"guest.outer", "run"}) {
		t.Errorf("app saw %q", seen)
	}
	if got, want := h.tree(req.TraceID()), []string{
		"request", "request > run", "request > run > app.work", "request > run > guest.outer", "request > run > guest.outer > app.work",
	}; !slices.Equal(got, want) {
		t.Errorf("tree:\n got %q\nwant %q", got, want)
	}
}

func TestLimits(t *testing.T) {
	t.Run("spans per call", func(t *testing.T) {
		h := newHarness(t, observe.WithLimits(observe.Limits{MaxSpansPerCall: 10}))
		p := h.plugin("cguest.wasm", false)
		req := h.request(func(ctx context.Context) { call(t, p, ctx, "burst") })
		if n := len(h.tree(req.TraceID())); n != 12 { // request, burst, 10 items
			t.Errorf("%d spans, want 12", n)
		}
		if got := attrs(h.spans0(req.TraceID(), "burst"))["observe.dropped.span_limit"]; got != int64(40) {
			t.Errorf("observe.dropped.span_limit = %v, want 40", got)
		}
		if d := h.dropped(); d["span_limit"] != 40 {
			t.Errorf("dropped %v", d)
		}
		var warns int
		for _, l := range h.logLines() {
			if l["reason"] == "span_limit" {
				warns++
			}
		}
		if warns != 1 {
			t.Errorf("%d warnings, want one per call", warns)
		}
	})
	t.Run("depth", func(t *testing.T) {
		h := newHarness(t, observe.WithLimits(observe.Limits{MaxSpanDepth: 1}))
		p := h.plugin("cguest.wasm", false)
		req := h.request(func(ctx context.Context) { call(t, p, ctx, "run") })
		if got, want := h.tree(req.TraceID()), []string{"request", "request > run", "request > run > handle_request"}; !slices.Equal(got, want) {
			t.Fatalf("tree %q", got)
		}
		// What the guest reported inside the dropped span lands on its parent.
		hr := h.spans(req.TraceID())["handle_request"]
		if attrs(hr)["db.system"] != "sqlite" || !slices.Contains(logEvents(hr), "debug SELECT 1") {
			t.Errorf("handle_request did not receive db.query's tags and logs: %v %q", attrs(hr), logEvents(hr))
		}
	})
	t.Run("string bytes", func(t *testing.T) {
		h := newHarness(t, observe.WithLimits(observe.Limits{MaxStringBytes: 8}))
		p := h.plugin("cguest.wasm", false)
		req := h.request(func(ctx context.Context) { call(t, p, ctx, "run") })
		s := h.spans(req.TraceID())
		hr, ok := s["handle_r"]
		if !ok || attrs(hr)["observe.truncated"] != true {
			t.Fatalf("no truncated span handle_r: %q", h.tree(req.TraceID()))
		}
		if got := logEvents(hr)[0]; got != "info handling" {
			t.Errorf("log event %q", got)
		}
	})
	t.Run("tags", func(t *testing.T) {
		h := newHarness(t, observe.WithLimits(observe.Limits{MaxTagsPerCall: 1}))
		p := h.plugin("cguest.wasm", false)
		req := h.request(func(ctx context.Context) { call(t, p, ctx, "run") })
		if got := attrs(h.spans(req.TraceID())["handle_request"]); len(got) != 1 || got["http.method"] != "GET" {
			t.Errorf("attributes %v", got)
		}
		if d := h.dropped(); d["tag_limit"] != 3 {
			t.Errorf("dropped %v", d)
		}
	})
}

// spans0 returns the first span named name of a trace.
func (h *harness) spans0(tid trace.TraceID, name string) sdktrace.ReadOnlySpan {
	for _, s := range h.rec.Ended() {
		if s.SpanContext().TraceID() == tid && s.Name() == name {
			return s
		}
	}
	h.t.Fatalf("no span %q", name)
	return nil
}

// TestConcurrentInstances runs many instances of one CompiledPlugin at once,
// each call under its own request: every trace holds exactly its own spans.
func TestConcurrentInstances(t *testing.T) {
	h := newHarness(t)
	cp, err := extism.NewCompiledPlugin(h.obs.Context(context.Background()), manifest(t, "cguest.wasm"),
		extism.PluginConfig{}, h.obs.HostFunctions())
	if err != nil {
		t.Fatal(err)
	}
	defer cp.Close(context.Background())
	const instances, callsEach = 16, 25
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		reqs []trace.SpanContext
	)
	for range instances {
		p, err := cp.Instance(context.Background(), extism.PluginInstanceConfig{})
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close(context.Background())
		wg.Go(func() {
			for range callsEach {
				sc := h.request(func(ctx context.Context) {
					if rc, err := call(t, p, ctx, "run"); rc != 0 || err != nil {
						t.Errorf("rc=%d err=%v", rc, err)
					}
				})
				mu.Lock()
				reqs = append(reqs, sc)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	byTrace := map[trace.TraceID][]sdktrace.ReadOnlySpan{}
	for _, s := range h.rec.Ended() {
		byTrace[s.SpanContext().TraceID()] = append(byTrace[s.SpanContext().TraceID()], s)
	}
	if len(byTrace) != instances*callsEach {
		t.Fatalf("%d traces, want %d", len(byTrace), instances*callsEach)
	}
	want := []string{"request", "request > run", "request > run > handle_request", "request > run > handle_request > db.query"}
	for _, sc := range reqs {
		spans := byTrace[sc.TraceID()]
		if got := tree(spans); !slices.Equal(got, want) {
			t.Fatalf("trace %v:\n got %q\nwant %q", sc.TraceID(), got, want)
		}
		for _, s := range spans {
			if s.Name() == "run" && s.Parent().SpanID() != sc.SpanID() {
				t.Fatalf("call span under another request")
			}
		}
	}
	logs := h.logLines()
	if len(logs) != instances*callsEach*5 {
		t.Errorf("%d logs, want %d", len(logs), instances*callsEach*5)
	}
}

// An app that calls a plugin under a remote parent (a consumer that
// extracted the trace from a message, say) without a span of its own gets
// the call traced by the global TracerProvider, in the remote trace. The
// global provider is set once per process: the test runs in its own.
func TestRemoteParentGlobalTracerProvider(t *testing.T) {
	if !inOwnProcess(t) {
		return
	}
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	otel.SetTracerProvider(tp)
	obs := observe.New(observe.WithLogger(zerolog.Nop()))
	p, err := extism.NewPlugin(obs.Context(context.Background()), manifest(t, "cguest.wasm"), extism.PluginConfig{}, obs.HostFunctions())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close(context.Background()) })
	remote := trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{7}, SpanID: trace.SpanID{8},
		TraceFlags: trace.FlagsSampled, Remote: true})
	if _, err := call(t, p, trace.ContextWithRemoteSpanContext(context.Background(), remote), "run"); err != nil {
		t.Fatal(err)
	}
	var callSpan sdktrace.ReadOnlySpan
	for _, s := range rec.Ended() {
		if s.SpanContext().TraceID() != remote.TraceID() {
			t.Errorf("span %q in trace %s, want the remote one", s.Name(), s.SpanContext().TraceID())
		}
		if s.Name() == "run" {
			callSpan = s
		}
	}
	if callSpan == nil || callSpan.Parent().SpanID() != remote.SpanID() || len(rec.Ended()) < 2 {
		t.Fatalf("spans %v, want the call span under the remote parent, and the guest's", tree(rec.Ended()))
	}
}
