package extism_test

// Added to a copy of the Extism Go SDK by the compatibility suite of
// github.com/extism-observe/observe (compat/). With OBSERVE_COMPAT=1, every
// plugin the SDK's tests create goes through an Observer with a real
// OpenTelemetry SDK TracerProvider and MeterProvider, a zerolog logger and
// WithExtismLogs. After the tests it checks that every span started was
// ended and that the Observer logged no error of its own, and prints one
// line the suite reads. With OBSERVE_COMPAT=inert, the Observer is an
// inert one, all its sinks no-op ones.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	extism "github.com/extism/go-sdk"
	"github.com/rs/zerolog"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
	lognoop "go.opentelemetry.io/otel/log/noop"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/extism-observe/observe"
)

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func TestMain(m *testing.M) {
	switch os.Getenv("OBSERVE_COMPAT") {
	case "1":
	case "bench":
		benchMain(m, true)
	case "bench-noop":
		benchMain(m, false)
	case "inert":
		inertMain(m)
	case "bench-floor":
		benchFloorMain(m, false)
	case "bench-listeners":
		benchFloorMain(m, true)
	default:
		os.Exit(m.Run())
	}
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	var logs lockedBuffer
	obs := observe.New(
		observe.WithTracerProvider(tp),
		observe.WithMeterProvider(mp),
		observe.WithLogger(zerolog.New(&logs).Level(zerolog.DebugLevel)),
		observe.WithExtismLogs(true),
	)
	var plugins int
	var mu sync.Mutex
	extism.ObserveHook = func(ctx context.Context, _ extism.PluginConfig, funcs []extism.HostFunction) (context.Context, []extism.HostFunction) {
		mu.Lock()
		plugins++
		mu.Unlock()
		return obs.Context(ctx), append(obs.HostFunctions(), funcs...)
	}
	code := m.Run()

	started, ended := len(rec.Started()), len(rec.Ended())
	// The Observer's own errors are the lines it writes at error level
	// with a message of its own ("observe: ..."); guest logs are not.
	var errs []string
	logs.mu.Lock()
	sc := bufio.NewScanner(bytes.NewReader(logs.buf.Bytes()))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var l map[string]any
		if json.Unmarshal(sc.Bytes(), &l) != nil {
			errs = append(errs, "unreadable log line: "+sc.Text())
			continue
		}
		msg, _ := l["message"].(string)
		if l["level"] == "error" && strings.HasPrefix(msg, "observe:") {
			errs = append(errs, msg)
		}
	}
	logs.mu.Unlock()
	report, _ := json.Marshal(map[string]any{
		"plugins": plugins, "spans_started": started, "spans_ended": ended, "observer_errors": errs,
	})
	fmt.Printf("\nobserve-compat: %s\n", report)
	_ = tp.Shutdown(context.Background())
	_ = mp.Shutdown(context.Background())
	os.Exit(code)
}

// inertMain runs the SDK's tests with an inert Observer (OpenTelemetry's
// no-op providers and zerolog.Nop): its plugins get no listeners, and its
// host functions find no call. It prints the report with the plugins
// created; there is nothing to record.
func inertMain(m *testing.M) {
	obs := observe.New(observe.WithTracerProvider(tracenoop.NewTracerProvider()),
		observe.WithMeterProvider(metricnoop.NewMeterProvider()),
		observe.WithLoggerProvider(lognoop.NewLoggerProvider()), observe.WithLogger(zerolog.Nop()))
	var plugins atomic.Int64
	extism.ObserveHook = func(ctx context.Context, _ extism.PluginConfig, funcs []extism.HostFunction) (context.Context, []extism.HostFunction) {
		plugins.Add(1)
		return obs.Context(ctx), append(obs.HostFunctions(), funcs...)
	}
	code := m.Run()
	report, _ := json.Marshal(map[string]any{"plugins": plugins.Load()})
	fmt.Printf("\nobserve-compat: %s\n", report)
	os.Exit(code)
}

// benchMain runs the SDK's benchmarks with an Observer. recording, as a
// production app sets it up: every call sampled, spans batched to an
// exporter, metrics to a reader, logs at info. Not recording, with the
// OpenTelemetry globals an app that has not set them up has, no-op ones:
// the cost of the observer in the call path itself.
func benchMain(m *testing.M, recording bool) {
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(discard{}))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	opts := []observe.Option{
		observe.WithTracerProvider(tp),
		observe.WithMeterProvider(mp),
		observe.WithLogger(zerolog.New(io.Discard).Level(zerolog.InfoLevel)),
	}
	if !recording {
		opts = []observe.Option{observe.WithLogger(zerolog.New(io.Discard).Level(zerolog.InfoLevel))}
	}
	obs := observe.New(opts...)
	extism.ObserveHook = func(ctx context.Context, _ extism.PluginConfig, funcs []extism.HostFunction) (context.Context, []extism.HostFunction) {
		return obs.Context(ctx), append(obs.HostFunctions(), funcs...)
	}
	code := m.Run()
	_ = tp.Shutdown(context.Background())
	os.Exit(code)
}

// benchFloorMain runs the SDK's benchmarks without an Observer, with host
// functions that do nothing under the Observe API's names and signatures:
// what any app giving its plugins as many host functions pays (Extism
// builds a host module of them for every plugin it creates), the floor of
// the observer's cost at plugin creation. With listeners, it also puts
// empty wazero function listeners where the observer puts its own, on the
// exports without parameters: the floor of the observer's cost per call,
// since a listener is how it sees a call begin and end.
func benchFloorMain(m *testing.M, listeners bool) {
	var floor []extism.HostFunction
	for _, hf := range observe.New().HostFunctions() {
		f := extism.NewHostFunctionWithStack(hf.Name, func(context.Context, *extism.CurrentPlugin, []uint64) {}, hf.Params, hf.Returns)
		f.SetNamespace(hf.Namespace)
		floor = append(floor, f)
	}
	extism.ObserveHook = func(ctx context.Context, _ extism.PluginConfig, funcs []extism.HostFunction) (context.Context, []extism.HostFunction) {
		if listeners {
			ctx = experimental.WithFunctionListenerFactory(ctx, emptyListenerFactory{})
		}
		return ctx, append(floor[:len(floor):len(floor)], funcs...)
	}
	os.Exit(m.Run())
}

// emptyListenerFactory gives an empty listener to each export without
// parameters, the functions the observer listens to in an ordinary plugin.
type emptyListenerFactory struct{}

func (emptyListenerFactory) NewFunctionListener(def api.FunctionDefinition) experimental.FunctionListener {
	if def.GoFunction() == nil && len(def.ExportNames()) > 0 && len(def.ParamTypes()) == 0 {
		return emptyListener{}
	}
	return nil
}

type emptyListener struct{}

func (emptyListener) Before(context.Context, api.Module, api.FunctionDefinition, []uint64, experimental.StackIterator) {
}
func (emptyListener) After(context.Context, api.Module, api.FunctionDefinition, []uint64) {}
func (emptyListener) Abort(context.Context, api.Module, api.FunctionDefinition, error)    {}

// discard is a span exporter that drops what it is given.
type discard struct{}

func (discard) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (discard) Shutdown(context.Context) error                             { return nil }
