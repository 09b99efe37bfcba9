package observe_test

import (
	"context"
	"strings"
	"testing"

	extism "github.com/extism/go-sdk"
	"github.com/rs/zerolog"
	lognoop "go.opentelemetry.io/otel/log/noop"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/extism-observe/observe"
)

// offHarness is the harness of an Observer whose every sink is off: the
// no-op TracerProvider and MeterProvider, a disabled zerolog logger, and
// no OpenTelemetry LoggerProvider set (its calls are silent, silent.go) or
// with opts the no-op one (it is inert, inert.go). The caller's span is
// still recorded, by the harness's own provider.
func offHarness(t *testing.T, opts ...observe.Option) *harness {
	return newHarness(t, append([]observe.Option{observe.WithTracerProvider(tracenoop.NewTracerProvider()),
		observe.WithMeterProvider(metricnoop.NewMeterProvider()), observe.WithLogger(zerolog.Nop()),
		observe.WithPropagator(propagation.TraceContext{})}, opts...)...)
}

// forEachOff runs test with each of the two kinds of Observer that record
// nothing: one whose calls are silent, and an inert one.
func forEachOff(t *testing.T, test func(t *testing.T, h *harness)) {
	t.Run("silent", func(t *testing.T) { test(t, offHarness(t)) })
	t.Run("inert", func(t *testing.T) {
		test(t, offHarness(t, observe.WithLoggerProvider(lognoop.NewLoggerProvider())))
	})
}

// A call that records nothing runs every guest the way an unobserved one
// does, hostile ones included, and leaves the caller's span as it was.
func TestSilentCall(t *testing.T) { forEachOff(t, testSilentCall) }

func testSilentCall(t *testing.T, h *harness) {
	run := func(p *extism.Plugin, fn string, input []byte, wantErr bool) {
		t.Helper()
		h.request(func(ctx context.Context) {
			if _, _, err := p.CallWithContext(ctx, fn, input); (err != nil) != wantErr {
				t.Errorf("%s: err = %v, want error: %v", fn, err, wantErr)
			}
		})
	}
	cguest := h.plugin("cguest.wasm", false)
	for _, fn := range []string{"run", "bad_metrics", "bad_memory", "leave_open", "burst", "spans"} {
		run(cguest, fn, nil, false)
	}
	run(cguest, "metrics", []byte("a:1|c\x00b:2|h\x00a:x|c"), false)
	run(cguest, "trap", nil, true)
	run(cguest, "fail", nil, false) // returns 1: an rc, not an error
	instrumented := h.plugin("instrumented.wasm", false)
	run(instrumented, "run", nil, false)
	run(instrumented, "loop", nil, false)

	hostile := h.plugin("hostile.wasm", false)
	before := heapInUse()
	for _, fn := range []string{"ptr_edges", "exits", "deep", "many", "tags", "big", "evil_text", "forge", "bad_name"} {
		run(hostile, fn, nil, false)
	}
	for _, fn := range []string{"trap_unreachable", "trap_div0", "trap_oob"} {
		run(hostile, fn, nil, true)
	}
	run(hostile, "ok", nil, false)
	if grew := int64(heapInUse()) - int64(before); grew > 1*mib {
		t.Errorf("the hostile calls grew the heap by %d bytes", grew)
	}

	for _, s := range h.rec.Ended() {
		if s.Name() != "request" {
			t.Errorf("span %q recorded", s.Name())
		}
		if len(s.Attributes()) != 0 || len(s.Events()) != 0 {
			t.Errorf("the caller's span was written to: %v %v", s.Attributes(), s.Events())
		}
	}
	if n := len(h.logLines()); n != 0 {
		t.Errorf("%d log lines", n)
	}
}

// In a call that records nothing the guest's HTTP request still carries
// the caller's trace context, and the Extism log line it writes still
// reaches the plugin's own logger.
func TestSilentCallHTTP(t *testing.T) { forEachOff(t, testSilentCallHTTP) }

func testSilentCallHTTP(t *testing.T, h *harness) {
	extism.SetLogLevel(extism.LogLevelInfo)
	t.Cleanup(func() { extism.SetLogLevel(extism.LogLevelOff) })
	srv, got := headerServer(t)
	p := h.httpPlugin()
	var app []string
	p.SetLogger(func(l extism.LogLevel, msg string) { app = append(app, msg) })
	caller := h.request(func(ctx context.Context) {
		if rc, _, err := p.CallWithContext(ctx, "fetch", []byte(srv.URL)); rc != 0 || err != nil {
			t.Fatalf("rc=%d err=%v", rc, err)
		}
	})
	want := "00-" + caller.TraceID().String() + "-" + caller.SpanID().String() + "-01"
	if tp := got(); len(tp) != 1 || tp[0] != want {
		t.Errorf("the server got traceparent %q, want the caller's %q", tp, want)
	}
	if len(app) != 1 || !strings.Contains(app[0], "fetching the input URL") {
		t.Errorf("the plugin's logger got %q, want the guest's line", app)
	}
}

// In a call that records nothing, SpanFromContext in a host function is a
// non-recording span with the caller's span context, as with the no-op
// TracerProvider alone, and stays so after the call.
func TestSilentCallSpanFromContext(t *testing.T) {
	forEachOff(t, checkSpanFromContextIsTheCaller)
}
