package observe

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"sync/atomic"
	"testing"

	extism "github.com/extism/go-sdk"
	"github.com/rs/zerolog"
	otellog "go.opentelemetry.io/otel/log"
	lognoop "go.opentelemetry.io/otel/log/noop"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
)

// allOff are the options of an Observer whose every sink is off.
func allOff(more ...Option) []Option {
	return append([]Option{WithTracerProvider(tracenoop.NewTracerProvider()),
		WithMeterProvider(metricnoop.NewMeterProvider()), WithLogger(zerolog.Nop())}, more...)
}

// oneSeverity is a log processor that wants records of one severity only,
// and counts those it is given.
type oneSeverity struct {
	sev     otellog.Severity
	emitted atomic.Int64
}

func (p *oneSeverity) OnEmit(context.Context, *sdklog.Record) error { p.emitted.Add(1); return nil }
func (p *oneSeverity) Enabled(_ context.Context, param sdklog.EnabledParameters) bool {
	return param.Severity == p.sev
}
func (*oneSeverity) Shutdown(context.Context) error   { return nil }
func (*oneSeverity) ForceFlush(context.Context) error { return nil }

func sampledContext() context.Context {
	return trace.ContextWithSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID{1}, SpanID: trace.SpanID{2}, TraceFlags: trace.FlagsSampled}))
}

// A call is silent exactly when nothing could hear it: each sink that
// listens, at any level the observer writes, makes it a call like any
// other. The Observer is inert exactly when that holds whatever the app
// does later: each sink is the no-op one, or a zerolog logger whose own
// level is above Error.
func TestSilentWhenNothingListens(t *testing.T) {
	debugOnly := sdklog.NewLoggerProvider(sdklog.WithProcessor(&oneSeverity{sev: otellog.SeverityDebug}))
	// A no-op tracer's span under a recording one has its span context and
	// the no-op provider.
	recording, _ := sdktrace.NewTracerProvider().Tracer("app").Start(context.Background(), "request")
	_, noopParent := tracenoop.NewTracerProvider().Tracer("app").Start(recording, "work")
	noopLogs := WithLoggerProvider(lognoop.NewLoggerProvider())
	for _, tc := range []struct {
		name          string
		opts          []Option
		ctx           context.Context
		silent, inert bool
	}{
		// The global LoggerProvider may be set later.
		{"every sink off", allOff(), nil, true, false},
		{"the no-op LoggerProvider", allOff(noopLogs), nil, true, true},
		{"zerolog at fatal", allOff(WithLogger(zerolog.New(io.Discard).Level(zerolog.FatalLevel))), nil, true, false},
		{"zerolog at fatal, the no-op LoggerProvider",
			allOff(noopLogs, WithLogger(zerolog.New(io.Discard).Level(zerolog.FatalLevel))), nil, true, true},
		{"zerolog at error", allOff(noopLogs, WithLogger(zerolog.New(io.Discard).Level(zerolog.ErrorLevel))), nil, false, false},
		{"zerolog at trace", allOff(noopLogs, WithLogger(zerolog.New(io.Discard).Level(zerolog.TraceLevel))), nil, false, false},
		{"OpenTelemetry logs at debug only", allOff(WithLoggerProvider(debugOnly)), nil, false, false},
		{"an SDK TracerProvider", allOff(noopLogs, WithTracerProvider(sdktrace.NewTracerProvider())), nil, false, false},
		{"an SDK MeterProvider", allOff(noopLogs, WithMeterProvider(sdkmetric.NewMeterProvider())), nil, false, false},
		{"the global MeterProvider", []Option{WithTracerProvider(tracenoop.NewTracerProvider()), WithLogger(zerolog.Nop()), noopLogs},
			nil, false, false},
		// Without WithTracerProvider, the caller's span's provider.
		{"the caller's no-op provider", []Option{WithMeterProvider(metricnoop.NewMeterProvider()), WithLogger(zerolog.Nop()), noopLogs},
			trace.ContextWithSpan(context.Background(), noopParent), true, false},
		{"the global TracerProvider", []Option{WithMeterProvider(metricnoop.NewMeterProvider()), WithLogger(zerolog.Nop()), noopLogs},
			nil, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := New(tc.opts...)
			ctx := tc.ctx
			if ctx == nil {
				ctx = sampledContext()
			}
			if got := o.silent(ctx, o.tracer(trace.SpanFromContext(ctx))); got != tc.silent {
				t.Errorf("silent = %v, want %v", got, tc.silent)
			}
			if o.inert != tc.inert {
				t.Errorf("inert = %v, want %v", o.inert, tc.inert)
			}
		})
	}
}

// An OpenTelemetry LoggerProvider that wants one severity only gets the
// guest's log of that severity: the call is not silent.
func TestNotSilentForOneSeverity(t *testing.T) {
	proc := &oneSeverity{sev: otellog.SeverityDebug}
	lp := sdklog.NewLoggerProvider(sdklog.WithProcessor(proc))
	o := New(allOff(WithLoggerProvider(lp))...)
	data, err := os.ReadFile(filepath.Join("testdata", "cguest.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := extism.NewPlugin(o.Context(context.Background()), extism.Manifest{Wasm: []extism.Wasm{extism.WasmData{Data: data}}},
		extism.PluginConfig{}, o.HostFunctions())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(context.Background())
	if rc, _, err := p.CallWithContext(sampledContext(), "run", nil); rc != 0 || err != nil {
		t.Fatalf("rc=%d err=%v", rc, err)
	}
	if n := proc.emitted.Load(); n != 1 {
		t.Errorf("%d records at debug, want the guest's one", n)
	}
}

// A silent call, once cleared, is as new: whatever its life set is not
// carried to the next call that takes it from the pool.
func TestSilentCallCleared(t *testing.T) {
	o := New(allOff()...)
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close() // a request to it fails, which marks the call
	p := new(extism.Plugin)
	ctx := context.WithValue(sampledContext(), pluginKey, p)
	c := o.startCall(ctx, p, nil, nil, "run")
	if !c.silent {
		t.Fatal("the call is not silent")
	}
	c.register(p)
	if lookupCall(ctx) != c {
		t.Fatal("the call is not found from its ctx")
	}
	c.enterExport(nil, nil) // a call into a linked module
	c.exitExport(nil, nil)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, down.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.roundTrip(http.DefaultTransport, req); err == nil || !c.httpFailed {
		t.Fatalf("the request to a closed server: err %v, httpFailed %v", err, c.httpFailed)
	}
	if sc := SpanFromContext(ctx).SpanContext(); !sc.Equal(trace.SpanContextFromContext(ctx)) {
		t.Errorf("SpanFromContext has %v, want the caller's", sc)
	}
	c.unregister(p)
	c.finish(nil, nil, nil)
	c.clearSilent()

	if c.entry.owner.Load() != nil || c.entry.c != c || c.slot != nil {
		t.Error("the call's place is not given back")
	}
	frames := c.spans.frames[:cap(c.spans.frames)]
	for i := range frames {
		if !reflect.ValueOf(frames[i]).IsZero() {
			t.Errorf("span frame %d kept: %+v", i, frames[i])
		}
	}
	got, want := *c, *newSilentCall()
	got.spans.frames, got.entry, want.entry = nil, nil, nil
	if !reflect.DeepEqual(got, want) {
		gv, wv := reflect.ValueOf(got), reflect.ValueOf(want)
		for i := range gv.NumField() {
			if g, w := fmt.Sprintf("%+v", gv.Field(i)), fmt.Sprintf("%+v", wv.Field(i)); g != w {
				t.Errorf("field %s kept: %s, want %s", gv.Type().Field(i).Name, g, w)
			}
		}
		t.Errorf("the cleared call is not as new:\n%+v", got)
	}
}
