package observe_test

// Benchmarks of the "Performance" issue. Each sub-benchmark that measures
// the library runs beside its baseline in the same benchmark function
// (sub-benchmarks are named impl=..., so that `benchstat -col /impl`
// compares them); BenchmarkPaired also times a case and its baseline
// alternately within one loop, which keeps the noise of a shared machine
// out of the ratio. BENCHMARKS.md has the results and says how to run them
// all (benchmarks/run.sh). Guests: testdata/bench/loops.wat (loops of
// Observe API calls, N read from the Extism input), testdata/bench/calls.wat
// and testdata/instrumented.wasm ("loop").
//
// In the loop benchmarks one op is one Observe API call (one span-enter and
// span-exit pair for spans), made by a guest loop of up to benchChunk ops
// in one plugin call, so that the cost of the plugin call itself is spread
// over thousands of ops. Spans are timed until every one has reached the
// exporter (ForceFlush after each plugin call, and after each chunk of
// native spans), and a check after the timed loop fails the benchmark if
// any was lost.

import (
	"context"
	"encoding/binary"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	extism "github.com/extism/go-sdk"
	"github.com/rs/zerolog"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
	"go.opentelemetry.io/otel/attribute"
	otellog "go.opentelemetry.io/otel/log"
	lognoop "go.opentelemetry.io/otel/log/noop"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/extism-observe/observe"

	"github.com/extism-observe/observe/internal/conv"
)

// benchChunk is the number of ops of one plugin call in the loop
// benchmarks: the default Limits.MaxSpansPerCall, so nothing is dropped.
const benchChunk = observe.DefaultMaxSpansPerCall

// benchFnCalls is the number of function calls one call of the "loop"
// export of instrumented.wasm and bench/calls.wasm makes.
const benchFnCalls = 10_000

const (
	loopsWasm       = "bench/loops.wasm"
	benchLogMessage = "hello from the guest" // as in loops.wat
)

// benchCase is one thing measured: run does n ops (n at most benchChunk),
// check (if not nil) verifies after the timed loop that nothing was lost.
type benchCase struct {
	run   func(n int)
	check func()
}

// bench runs b.N ops of c, in chunks of at most benchChunk.
func (c benchCase) bench(b *testing.B) {
	b.ReportAllocs()
	b.ResetTimer()
	for done := 0; done < b.N; {
		k := min(benchChunk, b.N-done)
		c.run(k)
		done += k
	}
	b.StopTimer()
	if c.check != nil {
		c.check()
	}
}

// paired runs b.N ops of base and b.N ops of c, alternating chunks of at
// most chunk ops (and which of the two goes first), and reports the time
// per op of each and their ratio. Both sides see the same machine at
// nearly the same moment.
func paired(b *testing.B, chunk int, base, c benchCase) {
	var tb, tc time.Duration
	b.ResetTimer()
	for done, i := 0, 0; done < b.N; i++ {
		k := min(chunk, b.N-done)
		if i%2 == 0 {
			t0 := time.Now()
			base.run(k)
			t1 := time.Now()
			c.run(k)
			tb, tc = tb+t1.Sub(t0), tc+time.Since(t1)
		} else {
			t0 := time.Now()
			c.run(k)
			t1 := time.Now()
			base.run(k)
			tc, tb = tc+t1.Sub(t0), tb+time.Since(t1)
		}
		done += k
	}
	b.StopTimer()
	for _, x := range []benchCase{base, c} {
		if x.check != nil {
			x.check()
		}
	}
	b.ReportMetric(float64(tb.Nanoseconds())/float64(b.N), "base-ns/op")
	b.ReportMetric(float64(tc.Nanoseconds())/float64(b.N), "case-ns/op")
	b.ReportMetric(float64(tc)/float64(tb), "case/base")
}

// both is a case whose op is an op of a and an op of b.
func both(a, b benchCase) benchCase {
	return benchCase{
		run: func(n int) { a.run(n); b.run(n) },
		check: func() {
			for _, c := range []benchCase{a, b} {
				if c.check != nil {
					c.check()
				}
			}
		},
	}
}

// benchExporter is a SpanExporter that drops everything, counting spans so
// that a benchmark can check that none was lost on the way.
type benchExporter struct{ spans atomic.Int64 }

func (e *benchExporter) ExportSpans(_ context.Context, s []sdktrace.ReadOnlySpan) error {
	e.spans.Add(int64(len(s)))
	return nil
}

func (e *benchExporter) Shutdown(context.Context) error { return nil }

// benchTracerProvider is an OpenTelemetry SDK TracerProvider (default
// sampler: ParentBased(AlwaysSample)) exporting to a benchExporter through
// a batch processor whose queue (twice the spans between two flushes)
// drops nothing.
func benchTracerProvider(b *testing.B, perFlush int) (*sdktrace.TracerProvider, *benchExporter) {
	exp := &benchExporter{}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp, sdktrace.WithMaxQueueSize(2*perFlush+2)))
	b.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return tp, exp
}

// checkExported fails the benchmark when the exporter did not get want
// spans: a benchmark that dropped spans measured less than it claims.
// With atLeast, more may come: function spans filtered by duration are
// kept when a GC pause or preemption makes one outlast the minimum.
func checkExported(b *testing.B, tp *sdktrace.TracerProvider, exp *benchExporter, want int64, atLeast bool) {
	b.Helper()
	if err := tp.ForceFlush(context.Background()); err != nil {
		b.Fatal(err)
	}
	if got := exp.spans.Load(); got != want && !(atLeast && got > want) {
		b.Fatalf("exporter got %d spans, want %d", got, want)
	}
}

func benchMeterProvider(b *testing.B) *sdkmetric.MeterProvider {
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	b.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	return mp
}

// benchLogger is the zerolog logger of the benchmarks: JSON to io.Discard,
// at info.
func benchLogger() zerolog.Logger { return zerolog.New(io.Discard).Level(zerolog.InfoLevel) }

// sdkObserver is an Observer with tp, an SDK MeterProvider and benchLogger.
func sdkObserver(b *testing.B, tp trace.TracerProvider, opts ...observe.Option) *observe.Observer {
	return observe.New(append([]observe.Option{observe.WithTracerProvider(tp),
		observe.WithMeterProvider(benchMeterProvider(b)), observe.WithLogger(benchLogger())}, opts...)...)
}

// noopObserver is an Observer whose providers and logger all do nothing:
// OpenTelemetry's no-op TracerProvider, MeterProvider and LoggerProvider,
// and zerolog.Nop. It is inert: its plugins get no listeners.
func noopObserver() *observe.Observer {
	return observe.New(append(silentOptions(), observe.WithLoggerProvider(lognoop.NewLoggerProvider()))...)
}

// silentObserver is noopObserver with OpenTelemetry's global
// LoggerProvider, which the app may set at any time: its calls are silent,
// each found by the listeners and let go.
func silentObserver() *observe.Observer { return observe.New(silentOptions()...) }

func silentOptions() []observe.Option {
	return []observe.Option{observe.WithTracerProvider(tracenoop.NewTracerProvider()),
		observe.WithMeterProvider(metricnoop.NewMeterProvider()), observe.WithLogger(zerolog.Nop())}
}

func benchManifest(b *testing.B, file string) extism.Manifest {
	data, err := os.ReadFile(filepath.Join("testdata", file))
	if err != nil {
		b.Fatal(err)
	}
	return extism.Manifest{Wasm: []extism.Wasm{extism.WasmData{Data: data}}}
}

func newBenchPlugin(b *testing.B, ctx context.Context, file string, fns []extism.HostFunction) *extism.Plugin {
	b.Helper()
	p, err := extism.NewPlugin(ctx, benchManifest(b, file), extism.PluginConfig{}, fns)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = p.Close(context.Background()) })
	return p
}

// observedPlugin creates a plugin of testdata/file with the observer, the
// way an app enables it.
func observedPlugin(b *testing.B, obs *observe.Observer, file string) *extism.Plugin {
	return newBenchPlugin(b, obs.Context(context.Background()), file, obs.HostFunctions())
}

// floorPlugin creates a plugin of testdata/file without the observer, whose
// Observe API imports are host functions that do nothing: the cost of the
// host calls alone.
func floorPlugin(b *testing.B, file string) *extism.Plugin {
	return newBenchPlugin(b, context.Background(), file, noopHostFunctions())
}

// listenerFloorPlugin is floorPlugin with empty wazero function listeners
// where the observer puts its own (on every exported function without
// parameters, which is what Extism can call; the Extism kernel's reset
// included): the cost of the listener mechanism alone, which the observer
// cannot go below without listening to fewer functions.
func listenerFloorPlugin(b *testing.B, file string) *extism.Plugin {
	ctx := experimental.WithFunctionListenerFactory(context.Background(), emptyListenerFactory{})
	return newBenchPlugin(b, ctx, file, noopHostFunctions())
}

// noopHostFunctions returns host functions with empty callbacks under the
// namespaces, names and signatures of the Observe API.
func noopHostFunctions() []extism.HostFunction {
	return hostFunctionsDoing(func(context.Context, *extism.CurrentPlugin, []uint64) {})
}

// hostFunctionsDoing returns host functions that all do fn, under the
// namespaces, names and signatures of the Observe API.
func hostFunctionsDoing(fn extism.HostFunctionStackCallback) []extism.HostFunction {
	var out []extism.HostFunction
	for _, hf := range observe.New().HostFunctions() {
		f := extism.NewHostFunctionWithStack(hf.Name, fn, hf.Params, hf.Returns)
		f.SetNamespace(hf.Namespace)
		out = append(out, f)
	}
	return out
}

// inHostPlugin is floorPlugin whose Observe API host functions named in
// work (by "namespace name") do that work, natively, instead of nothing:
// the same work the observer does for a guest call, without reading,
// parsing or looking anything up, and timed the way the guest's is (a
// host call between two stretches of wasm).
func inHostPlugin(b *testing.B, file string, work map[string]extism.HostFunctionStackCallback) *extism.Plugin {
	var fns []extism.HostFunction
	for _, hf := range noopHostFunctions() {
		if w := work[hf.Namespace+" "+hf.Name]; w != nil {
			ns := hf.Namespace
			hf = extism.NewHostFunctionWithStack(hf.Name, w, hf.Params, hf.Returns)
			hf.SetNamespace(ns)
		}
		fns = append(fns, hf)
	}
	return newBenchPlugin(b, context.Background(), file, fns)
}

// spanInHost is the guest span loop whose span-enter and span-exit start
// and end a native span in the host: a native span and two host calls,
// interleaved as the guest's are.
func spanInHost(b *testing.B) benchCase {
	tp, exp := benchTracerProvider(b, benchChunk)
	ctx := sampledRequest(b, tp)
	tracer := tp.Tracer("bench")
	var open []trace.Span
	p := inHostPlugin(b, loopsWasm, map[string]extism.HostFunctionStackCallback{
		"dylibso:observe/api span-enter": func(context.Context, *extism.CurrentPlugin, []uint64) {
			_, span := tracer.Start(ctx, "s")
			open = append(open, span)
		},
		"dylibso:observe/api span-exit": func(context.Context, *extism.CurrentPlugin, []uint64) {
			open[len(open)-1].End()
			open = open[:len(open)-1]
		},
	})
	var spans int64
	c, _ := loopCase(b, context.Background(), p, "spans", func() { _ = tp.ForceFlush(ctx) })
	spans = exp.spans.Load()
	run := c.run
	c.run = func(n int) { run(n); spans += int64(n) }
	c.check = func() { checkExported(b, tp, exp, spans, false) }
	return c
}

// metricInHost is the guest loop fn whose metric host function makes the
// instrument call record does, natively: a host call and the instrument
// call, interleaved as the guest's are.
func metricInHost(b *testing.B, fn string, record func(context.Context)) benchCase {
	tp, _ := benchTracerProvider(b, benchChunk)
	ctx := sampledRequest(b, tp)
	p := inHostPlugin(b, loopsWasm, map[string]extism.HostFunctionStackCallback{
		"dylibso:observe/api metric": func(context.Context, *extism.CurrentPlugin, []uint64) { record(ctx) },
	})
	c, _ := loopCase(b, context.Background(), p, fn, nil)
	return c
}

func counterInHost(b *testing.B) benchCase {
	counter, err := benchMeterProvider(b).Meter("bench").Float64Counter("bench.requests")
	if err != nil {
		b.Fatal(err)
	}
	return metricInHost(b, "counters", func(ctx context.Context) { counter.Add(ctx, 1) })
}

func histogramInHost(b *testing.B) benchCase {
	hist, err := benchMeterProvider(b).Meter("bench").Float64Histogram("bench.latency")
	if err != nil {
		b.Fatal(err)
	}
	return metricInHost(b, "histograms", func(ctx context.Context) { hist.Record(ctx, 12.5) })
}

// clockFloorPlugin is floorPlugin whose host functions each read the
// monotonic clock once, as timing a function call on entry and exit
// takes: what no observer that times every call can go below.
func clockFloorPlugin(b *testing.B, file string) *extism.Plugin {
	epoch := time.Now()
	return newBenchPlugin(b, context.Background(), file, hostFunctionsDoing(func(context.Context, *extism.CurrentPlugin, []uint64) {
		clockSink = time.Since(epoch)
	}))
}

// clockSink keeps clockFloorPlugin's readings from being optimised away.
var clockSink time.Duration

type emptyListenerFactory struct{}

func (emptyListenerFactory) NewFunctionListener(def api.FunctionDefinition) experimental.FunctionListener {
	if def.GoFunction() != nil {
		return nil // the observer listens to no host function of its own
	}
	if len(def.ExportNames()) > 0 && len(def.ParamTypes()) == 0 {
		return emptyListener{}
	}
	return nil
}

type emptyListener struct{}

func (emptyListener) Before(context.Context, api.Module, api.FunctionDefinition, []uint64, experimental.StackIterator) {
}
func (emptyListener) After(context.Context, api.Module, api.FunctionDefinition, []uint64) {}
func (emptyListener) Abort(context.Context, api.Module, api.FunctionDefinition, error)    {}

// sampledRequest returns the ctx of a sampled caller span of tp, ended when
// the benchmark ends.
func sampledRequest(b *testing.B, tp trace.TracerProvider) context.Context {
	ctx, span := tp.Tracer("bench").Start(context.Background(), "request")
	b.Cleanup(func() { span.End() })
	return ctx
}

// unsampledRequest returns a ctx whose span context is valid but not
// sampled, as a remote caller that sampled the request out sends it.
func unsampledRequest() context.Context {
	sc := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16},
		SpanID:  trace.SpanID{1, 2, 3, 4, 5, 6, 7, 8},
		Remote:  true,
	})
	return trace.ContextWithRemoteSpanContext(context.Background(), sc)
}

// loopCase runs export fn of the loops guest: n ops in one plugin call,
// then after (if not nil). It first makes one untimed call of one op, so
// that one-time work is outside the timing. calls counts the plugin calls.
func loopCase(b *testing.B, ctx context.Context, p *extism.Plugin, fn string, after func()) (c benchCase, calls *int64) {
	calls = new(int64)
	var input [8]byte
	c.run = func(n int) {
		binary.LittleEndian.PutUint64(input[:], uint64(n))
		if rc, _, err := p.CallWithContext(ctx, fn, input[:]); rc != 0 || err != nil {
			b.Fatalf("%s: rc=%d err=%v", fn, rc, err)
		}
		if after != nil {
			after()
		}
		*calls++
	}
	c.run(1)
	return c, calls
}

// Span cases: one op is one span (start and end) until it has reached the
// exporter.

func spanNative(b *testing.B) benchCase {
	tp, exp := benchTracerProvider(b, benchChunk)
	ctx := sampledRequest(b, tp)
	tracer := tp.Tracer("bench")
	var spans int64
	return benchCase{
		run: func(n int) {
			for range n {
				_, span := tracer.Start(ctx, "s")
				span.End()
			}
			_ = tp.ForceFlush(ctx)
			spans += int64(n)
		},
		check: func() { checkExported(b, tp, exp, spans, false) },
	}
}

func spanGuest(b *testing.B) benchCase {
	tp, exp := benchTracerProvider(b, benchChunk)
	p := observedPlugin(b, sdkObserver(b, tp), loopsWasm)
	ctx := sampledRequest(b, tp)
	var spans int64
	c, calls := loopCase(b, ctx, p, "spans", func() { _ = tp.ForceFlush(ctx) })
	run := c.run
	c.run = func(n int) { run(n); spans += int64(n) }
	// A span per guest op, and one per plugin call (the untimed first one
	// of one op included).
	c.check = func() { checkExported(b, tp, exp, spans+1+*calls, false) }
	return c
}

func spanSampledOut(b *testing.B) benchCase {
	tp, exp := benchTracerProvider(b, benchChunk)
	p := observedPlugin(b, sdkObserver(b, tp), loopsWasm)
	ctx := unsampledRequest()
	c, _ := loopCase(b, ctx, p, "spans", func() { _ = tp.ForceFlush(ctx) })
	c.check = func() { checkExported(b, tp, exp, 0, false) }
	return c
}

func loopFloor(b *testing.B, fn string) benchCase {
	c, _ := loopCase(b, context.Background(), floorPlugin(b, loopsWasm), fn, nil)
	return c
}

func loopListenerFloor(b *testing.B, fn string) benchCase {
	c, _ := loopCase(b, context.Background(), listenerFloorPlugin(b, loopsWasm), fn, nil)
	return c
}

func loopNoop(b *testing.B, fn string) benchCase {
	c, _ := loopCase(b, context.Background(), observedPlugin(b, noopObserver(), loopsWasm), fn, nil)
	return c
}

// loopSDK runs fn with the observer, SDK providers, under a sampled caller.
func loopSDK(b *testing.B, fn string, opts ...observe.Option) benchCase {
	tp, _ := benchTracerProvider(b, benchChunk)
	c, _ := loopCase(b, sampledRequest(b, tp), observedPlugin(b, sdkObserver(b, tp, opts...), loopsWasm), fn, nil)
	return c
}

// BenchmarkSpan: one op is one span (start and end) until it reaches the
// exporter.
//
//   - native: tracer.Start + span.End in Go, the baseline.
//   - guest: span-enter + span-exit in one guest loop, with the observer.
//   - floor: the same guest loop against host functions that do nothing.
//   - floor-listeners: floor with empty wazero function listeners where the
//     observer has its own (diagnostic: the listener mechanism's share).
//   - sampled-out: the guest loop under a caller whose span context is not
//     sampled (ParentBased sampler): nothing is recorded.
//   - noop-provider: the guest loop with the no-op TracerProvider.
func BenchmarkSpan(b *testing.B) {
	b.Run("impl=native", func(b *testing.B) { spanNative(b).bench(b) })
	b.Run("impl=guest", func(b *testing.B) { spanGuest(b).bench(b) })
	b.Run("impl=floor", func(b *testing.B) { loopFloor(b, "spans").bench(b) })
	b.Run("impl=floor-listeners", func(b *testing.B) { loopListenerFloor(b, "spans").bench(b) })
	b.Run("impl=sampled-out", func(b *testing.B) { spanSampledOut(b).bench(b) })
	b.Run("impl=noop-provider", func(b *testing.B) { loopNoop(b, "spans").bench(b) })
}

// Log cases: one op is one log line, with benchLogger.

func logNative(b *testing.B, level zerolog.Level) benchCase {
	logger := benchLogger()
	return benchCase{run: func(n int) {
		for range n {
			logger.WithLevel(level).Msg(benchLogMessage)
		}
	}}
}

// logNativeEquivalent is what a guest log becomes, done in Go: a "log"
// event on the span, the zerolog line with the trace_id, span_id, module
// and function fields, and, with lp, an OpenTelemetry log record.
func logNativeEquivalent(b *testing.B, lp otellog.LoggerProvider) benchCase {
	logger := benchLogger()
	tp, _ := benchTracerProvider(b, benchChunk)
	ctx, span := tp.Tracer("bench").Start(sampledRequest(b, tp), "logs")
	b.Cleanup(func() { span.End() })
	sc := span.SpanContext()
	tid, sid := sc.TraceID(), sc.SpanID()
	var otelLogger otellog.Logger
	if lp != nil {
		otelLogger = lp.Logger("bench")
	}
	return benchCase{run: func(n int) {
		for range n {
			msg := string([]byte(benchLogMessage))
			if otelLogger != nil && otelLogger.Enabled(ctx, otellog.EnabledParameters{Severity: otellog.SeverityInfo}) {
				var r otellog.Record
				now := time.Now()
				r.SetTimestamp(now)
				r.SetObservedTimestamp(now)
				r.SetSeverity(otellog.SeverityInfo)
				r.SetSeverityText("info")
				r.SetBody(attribute.StringValue(msg))
				r.AddAttributes(conv.Module.String("main_0"), conv.Function.String("logs"))
				otelLogger.Emit(ctx, r)
			}
			span.AddEvent(conv.EventLog, trace.WithAttributes(
				conv.LogSeverity.String("info"), conv.LogMessage.String(msg)))
			logger.Info().Hex("trace_id", tid[:]).Hex("span_id", sid[:]).
				Str("module", "main_0").Str("function", "logs").Msg(msg)
		}
	}}
}

// benchLoggerProvider is an OpenTelemetry SDK LoggerProvider whose batch
// processor exports to an exporter that drops everything.
func benchLoggerProvider(b *testing.B) *sdklog.LoggerProvider {
	lp := sdklog.NewLoggerProvider(sdklog.WithProcessor(sdklog.NewBatchProcessor(discardLogs{})))
	b.Cleanup(func() { _ = lp.Shutdown(context.Background()) })
	return lp
}

type discardLogs struct{}

func (discardLogs) Export(context.Context, []sdklog.Record) error { return nil }
func (discardLogs) Shutdown(context.Context) error                { return nil }
func (discardLogs) ForceFlush(context.Context) error              { return nil }

func logUntraced(b *testing.B) benchCase {
	obs := observe.New(observe.WithTracerProvider(tracenoop.NewTracerProvider()),
		observe.WithMeterProvider(benchMeterProvider(b)), observe.WithLogger(benchLogger()))
	c, _ := loopCase(b, context.Background(), observedPlugin(b, obs, loopsWasm), "logs", nil)
	return c
}

// BenchmarkLog: one op is one log line at info, with the logger of
// benchLogger (JSON to io.Discard).
//
//   - native: logger.Info().Msg, the baseline.
//   - native-equivalent: what a guest log becomes, written in Go: the
//     zerolog line with the trace_id, span_id, module and function fields,
//     and a "log" event on the span.
//   - guest: the guest loop with the observer, under a sampled caller: a
//     zerolog line with the IDs, and a span event on the call span (which,
//     past the SDK's 128 events per span, drops the oldest).
//   - guest-untraced: the same with the no-op TracerProvider: the zerolog
//     line only.
//   - native-equivalent-otel-logs, guest-otel-logs: native-equivalent and
//     guest with an SDK LoggerProvider (a batch processor, an exporter
//     that drops everything): an OpenTelemetry log record more per line.
//   - floor: the guest loop against host functions that do nothing.
func BenchmarkLog(b *testing.B) {
	b.Run("impl=native", func(b *testing.B) { logNative(b, zerolog.InfoLevel).bench(b) })
	b.Run("impl=native-equivalent", func(b *testing.B) { logNativeEquivalent(b, nil).bench(b) })
	b.Run("impl=guest", func(b *testing.B) { loopSDK(b, "logs").bench(b) })
	b.Run("impl=native-equivalent-otel-logs", func(b *testing.B) {
		logNativeEquivalent(b, benchLoggerProvider(b)).bench(b)
	})
	b.Run("impl=guest-otel-logs", func(b *testing.B) {
		loopSDK(b, "logs", observe.WithLoggerProvider(benchLoggerProvider(b))).bench(b)
	})
	b.Run("impl=guest-untraced", func(b *testing.B) { logUntraced(b).bench(b) })
	b.Run("impl=floor", func(b *testing.B) { loopFloor(b, "logs").bench(b) })
}

// BenchmarkLogDisabled: one op is one debug log line with the logger at
// info, which drops it.
//
//   - native: logger.Debug().Msg.
//   - guest: the guest loop with the observer, under a sampled caller.
//   - floor: the guest loop against host functions that do nothing.
func BenchmarkLogDisabled(b *testing.B) {
	b.Run("impl=native", func(b *testing.B) { logNative(b, zerolog.DebugLevel).bench(b) })
	b.Run("impl=guest", func(b *testing.B) { loopSDK(b, "logs_debug").bench(b) })
	b.Run("impl=floor", func(b *testing.B) { loopFloor(b, "logs_debug").bench(b) })
}

// Metric cases: one op is one statsd line (guest) or one instrument call
// (native), with an SDK MeterProvider and a ManualReader, under a sampled
// caller span (so both offer exemplars).

func counterNative(b *testing.B) benchCase {
	tp, _ := benchTracerProvider(b, benchChunk)
	ctx := sampledRequest(b, tp)
	counter, err := benchMeterProvider(b).Meter("bench").Float64Counter("bench.requests")
	if err != nil {
		b.Fatal(err)
	}
	return benchCase{run: func(n int) {
		for range n {
			counter.Add(ctx, 1)
		}
	}}
}

func histogramNative(b *testing.B) benchCase {
	tp, _ := benchTracerProvider(b, benchChunk)
	ctx := sampledRequest(b, tp)
	hist, err := benchMeterProvider(b).Meter("bench").Float64Histogram("bench.latency")
	if err != nil {
		b.Fatal(err)
	}
	return benchCase{run: func(n int) {
		for range n {
			hist.Record(ctx, 12.5)
		}
	}}
}

// BenchmarkCounter: one op is one statsd counter line "bench.requests:1|c"
// (guest) or one counter.Add (native).
//
//   - noop-provider: the guest loop with the no-op providers and logger.
//   - in-host: the guest loop whose metric host function makes the
//     counter.Add itself: a host call and the instrument call.
//   - floor: the guest loop against host functions that do nothing.
func BenchmarkCounter(b *testing.B) {
	b.Run("impl=native", func(b *testing.B) { counterNative(b).bench(b) })
	b.Run("impl=guest", func(b *testing.B) { loopSDK(b, "counters").bench(b) })
	b.Run("impl=noop-provider", func(b *testing.B) { loopNoop(b, "counters").bench(b) })
	b.Run("impl=in-host", func(b *testing.B) { counterInHost(b).bench(b) })
	b.Run("impl=floor", func(b *testing.B) { loopFloor(b, "counters").bench(b) })
}

// BenchmarkHistogram: one op is one statsd histogram line
// "bench.latency:12.5|h" (guest) or one histogram.Record (native).
func BenchmarkHistogram(b *testing.B) {
	b.Run("impl=native", func(b *testing.B) { histogramNative(b).bench(b) })
	b.Run("impl=guest", func(b *testing.B) { loopSDK(b, "histograms").bench(b) })
}

// callCase makes one plugin call of fn per op, after an untimed first one.
func callCase(b *testing.B, ctx context.Context, p *extism.Plugin, fn string) benchCase {
	return callCaseWith(b, ctx, p, fn, nil)
}

// callCaseWith is callCase, each call given input.
func callCaseWith(b *testing.B, ctx context.Context, p *extism.Plugin, fn string, input []byte) benchCase {
	call := func() {
		if rc, _, err := p.CallWithContext(ctx, fn, input); rc != 0 || err != nil {
			b.Fatalf("%s: rc=%d err=%v", fn, rc, err)
		}
	}
	call()
	return benchCase{run: func(n int) {
		for range n {
			call()
		}
	}}
}

var callGuests = []struct{ name, file, fn string }{
	{"request", loopsWasm, "request"},
	{"cguest-run", "cguest.wasm", "run"},
}

// BenchmarkCall: one op is one plugin call of a small export making about
// ten Observe API calls: loops.wasm "request" (10 calls: two spans, two
// tag lists, an info and a debug log, two metrics, one with a DogStatsD
// tag) and cguest.wasm "run" (13 calls, one of them a 7-line metric).
//
//   - unobserved: plain Extism, Observe API host functions that do nothing.
//   - listeners-only: unobserved with empty wazero function listeners where
//     the observer has its own (diagnostic, see listenerFloorPlugin).
//   - observed-noop: with the observer, the no-op TracerProvider,
//     MeterProvider and LoggerProvider and a disabled logger (zerolog.Nop):
//     an inert Observer, whose plugins get no listeners.
//   - observed-silent: the same with OpenTelemetry's global LoggerProvider,
//     which the app may set later: each call is silent, found by the
//     listeners and let go.
func BenchmarkCall(b *testing.B) {
	ctx := context.Background()
	for _, g := range callGuests {
		b.Run("guest="+g.name+"/impl=unobserved", func(b *testing.B) {
			callCase(b, ctx, floorPlugin(b, g.file), g.fn).bench(b)
		})
		b.Run("guest="+g.name+"/impl=listeners-only", func(b *testing.B) {
			callCase(b, ctx, listenerFloorPlugin(b, g.file), g.fn).bench(b)
		})
		b.Run("guest="+g.name+"/impl=observed-noop", func(b *testing.B) {
			callCase(b, ctx, observedPlugin(b, noopObserver(), g.file), g.fn).bench(b)
		})
		b.Run("guest="+g.name+"/impl=observed-silent", func(b *testing.B) {
			callCase(b, ctx, observedPlugin(b, silentObserver(), g.file), g.fn).bench(b)
		})
		// The call metrics with an SDK MeterProvider (a ManualReader), the
		// rest no-op: their cost beside observed-noop.
		b.Run("guest="+g.name+"/impl=observed-call-metrics", func(b *testing.B) {
			obs := observe.New(observe.WithTracerProvider(tracenoop.NewTracerProvider()),
				observe.WithMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))),
				observe.WithLogger(zerolog.Nop()))
			callCase(b, ctx, observedPlugin(b, obs, g.file), g.fn).bench(b)
		})
	}
}

// BenchmarkPaired times a case and its baseline alternately within one
// loop (see paired), for the targets against a floor or an unobserved
// call, whose ratios are small: base-ns/op, case-ns/op and case/base are
// the results; ns/op is their sum, and B/op and allocs/op are of both.
func BenchmarkPaired(b *testing.B) {
	b.Run("case=span-guest-vs-native", func(b *testing.B) {
		paired(b, benchChunk, spanNative(b), spanGuest(b))
	})
	// A guest span pair is at best a native span and two host calls.
	b.Run("case=span-guest-vs-native-plus-floor", func(b *testing.B) {
		paired(b, benchChunk, both(spanNative(b), loopFloor(b, "spans")), spanGuest(b))
	})
	// The same, the native span made in the host functions the guest calls.
	b.Run("case=span-guest-vs-native-in-host", func(b *testing.B) {
		paired(b, benchChunk, spanInHost(b), spanGuest(b))
	})
	b.Run("case=span-native-in-host-vs-native", func(b *testing.B) {
		paired(b, benchChunk, spanNative(b), spanInHost(b))
	})
	b.Run("case=span-sampled-out-vs-floor", func(b *testing.B) {
		paired(b, benchChunk, loopFloor(b, "spans"), spanSampledOut(b))
	})
	b.Run("case=span-noop-vs-floor", func(b *testing.B) {
		paired(b, benchChunk, loopFloor(b, "spans"), loopNoop(b, "spans"))
	})
	b.Run("case=log-disabled-vs-floor", func(b *testing.B) {
		paired(b, benchChunk, loopFloor(b, "logs_debug"), loopSDK(b, "logs_debug"))
	})
	b.Run("case=log-vs-native-equivalent", func(b *testing.B) {
		paired(b, benchChunk, logNativeEquivalent(b, benchLoggerProvider(b)),
			loopSDK(b, "logs", observe.WithLoggerProvider(benchLoggerProvider(b))))
	})
	// A metric line is at best a host call and the instrument's call.
	b.Run("case=counter-vs-floor-plus-native", func(b *testing.B) {
		paired(b, benchChunk, both(loopFloor(b, "counters"), counterNative(b)), loopSDK(b, "counters"))
	})
	b.Run("case=histogram-vs-floor-plus-native", func(b *testing.B) {
		paired(b, benchChunk, both(loopFloor(b, "histograms"), histogramNative(b)), loopSDK(b, "histograms"))
	})
	// The same, the instrument called in the host function the guest calls.
	b.Run("case=counter-vs-native-in-host", func(b *testing.B) {
		paired(b, benchChunk, counterInHost(b), loopSDK(b, "counters"))
	})
	b.Run("case=histogram-vs-native-in-host", func(b *testing.B) {
		paired(b, benchChunk, histogramInHost(b), loopSDK(b, "histograms"))
	})
	b.Run("case=counter-noop-vs-floor", func(b *testing.B) {
		paired(b, benchChunk, loopFloor(b, "counters"), loopNoop(b, "counters"))
	})
	ctx := context.Background()
	for _, g := range callGuests {
		b.Run("case=call-"+g.name+"-noop-vs-unobserved", func(b *testing.B) {
			paired(b, 10, callCase(b, ctx, floorPlugin(b, g.file), g.fn),
				callCase(b, ctx, observedPlugin(b, noopObserver(), g.file), g.fn))
		})
		b.Run("case=call-"+g.name+"-silent-vs-unobserved", func(b *testing.B) {
			paired(b, 10, callCase(b, ctx, floorPlugin(b, g.file), g.fn),
				callCase(b, ctx, observedPlugin(b, silentObserver(), g.file), g.fn))
		})
	}
	// Automatic instrumentation: one op is one plugin call of
	// instrumented.wasm "loop", benchFnCalls instrumented calls.
	const instrumented = "instrumented.wasm"
	b.Run("case=instrumented-filtered-vs-unobserved", func(b *testing.B) {
		tp, _ := benchTracerProvider(b, 1000)
		paired(b, 1, callCase(b, ctx, floorPlugin(b, instrumented), "loop"),
			callCase(b, sampledRequest(b, tp), observedPlugin(b, sdkObserver(b, tp), instrumented), "loop"))
	})
	b.Run("case=instrumented-clock-floor-vs-unobserved", func(b *testing.B) {
		paired(b, 1, callCase(b, ctx, floorPlugin(b, instrumented), "loop"),
			callCase(b, ctx, clockFloorPlugin(b, instrumented), "loop"))
	})
	b.Run("case=instrumented-kept-vs-native", func(b *testing.B) {
		paired(b, 1, functionSpansNative(b), instrumentedKept(b))
	})
	// The Extism SDK's BenchmarkNoop and BenchmarkReplace/empty, paired
	// (see sdkCall): with the observer of an app that set no OpenTelemetry
	// up, and with the floor of its cost per call, against plain Extism.
	for _, g := range sdkCalls {
		b.Run("case=sdk-"+g.name+"-noop-vs-plain", func(b *testing.B) {
			obs := observe.New(observe.WithLogger(benchLogger()))
			paired(b, 10, sdkCall(b, context.Background(), g.file, g.input, nil), sdkCall(b, obs.Context(context.Background()), g.file, g.input, obs.HostFunctions()))
		})
		b.Run("case=sdk-"+g.name+"-listeners-vs-plain", func(b *testing.B) {
			ctx := experimental.WithFunctionListenerFactory(context.Background(), emptyListenerFactory{})
			paired(b, 10, sdkCall(b, context.Background(), g.file, g.input, nil), sdkCall(b, ctx, g.file, g.input, noopHostFunctions()))
		})
	}
	// The Extism SDK's BenchmarkInitializeWithCache, paired: a compiled
	// plugin and its instance per op, each side with a compilation cache of
	// its own; with the same observer, and with the floor of its cost at
	// plugin creation (as many host functions that do nothing).
	b.Run("case=sdk-init-noop-vs-plain", func(b *testing.B) {
		obs := observe.New(observe.WithLogger(benchLogger()))
		paired(b, 2, sdkInit(b, context.Background(), nil), sdkInit(b, obs.Context(context.Background()), obs.HostFunctions()))
	})
	b.Run("case=sdk-init-floor-vs-plain", func(b *testing.B) {
		paired(b, 2, sdkInit(b, context.Background(), nil), sdkInit(b, context.Background(), noopHostFunctions()))
	})
	// Diagnostics: what the wazero listener mechanism alone costs.
	b.Run("case=span-floor-listeners-vs-floor", func(b *testing.B) {
		paired(b, benchChunk, loopFloor(b, "spans"), loopListenerFloor(b, "spans"))
	})
	b.Run("case=call-request-listeners-vs-unobserved", func(b *testing.B) {
		paired(b, 10, callCase(b, ctx, floorPlugin(b, loopsWasm), "request"),
			callCase(b, ctx, listenerFloorPlugin(b, loopsWasm), "request"))
	})
	b.Run("case=call-request-silent-vs-listeners", func(b *testing.B) {
		paired(b, 10, callCase(b, ctx, listenerFloorPlugin(b, loopsWasm), "request"),
			callCase(b, ctx, observedPlugin(b, silentObserver(), loopsWasm), "request"))
	})
}

// sdkCalls are the plugin calls of the Extism SDK's BenchmarkNoop and
// BenchmarkReplace/empty.
var sdkCalls = []struct {
	name, file string
	input      []byte
}{
	{"noop", "noop.wasm", []byte{}},
	{"replace-empty", "replace.wasm", []byte{}},
}

// sdkCall is one op of the Extism SDK's BenchmarkNoop or BenchmarkReplace:
// a call of "run_test" on an instance of one of its own test plugins
// (from the module cache), made as those benchmarks make it (a compiled
// plugin with WASI and a compilation cache), created with ctx and fns.
// benchmarks/sdk.sh runs the SDK's benchmarks themselves; they are not
// paired, and on this shared machine their ratios move by a fifth.
func sdkCall(b *testing.B, ctx context.Context, file string, input []byte, fns []extism.HostFunction) benchCase {
	cache := wazero.NewCompilationCache()
	b.Cleanup(func() { _ = cache.Close(context.Background()) })
	cfg := extism.PluginConfig{EnableWasi: true, RuntimeConfig: wazero.NewRuntimeConfig().WithCompilationCache(cache)}
	compiled, err := extism.NewCompiledPlugin(ctx, sdkManifest(b, file), cfg, fns)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = compiled.Close(context.Background()) })
	p, err := compiled.Instance(ctx, extism.PluginInstanceConfig{ModuleConfig: wazero.NewModuleConfig()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = p.Close(context.Background()) })
	return callCaseWith(b, context.Background(), p, "run_test", input)
}

// sdkInit is one op of the Extism SDK's BenchmarkInitializeWithCache, made
// as it makes it: a compiled plugin of its noop.wasm, read from its path,
// with WASI and a compilation cache shared by every op, and an instance of
// it; neither is closed, as there. ctx and fns create it.
func sdkInit(b *testing.B, ctx context.Context, fns []extism.HostFunction) benchCase {
	dir, err := sdkDir()
	if err != nil || dir == "" {
		b.Fatalf("the Extism Go SDK is not in the module cache (go list: %v)", err)
	}
	cache := wazero.NewCompilationCache()
	b.Cleanup(func() { _ = cache.Close(context.Background()) })
	c := benchCase{run: func(n int) {
		for range n {
			manifest := extism.Manifest{Wasm: []extism.Wasm{extism.WasmFile{Path: filepath.Join(dir, "wasm", "noop.wasm")}}}
			cfg := extism.PluginConfig{EnableWasi: true, RuntimeConfig: wazero.NewRuntimeConfig().WithCompilationCache(cache)}
			compiled, err := extism.NewCompiledPlugin(ctx, manifest, cfg, fns)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := compiled.Instance(ctx, extism.PluginInstanceConfig{ModuleConfig: wazero.NewModuleConfig()}); err != nil {
				b.Fatal(err)
			}
		}
	}}
	c.run(1) // the first compile fills the cache
	return c
}

// Automatic instrumentation: one op is one plugin call of a "loop" export
// making benchFnCalls function calls; ns/fncall is per function call.

// instrumentedKept is one op of instrumented.wasm "loop" with
// WithMinDuration(0): a span for each of its benchFnCalls function calls,
// and the call's, until they reach the exporter.
func instrumentedKept(b *testing.B) benchCase {
	tp, exp := benchTracerProvider(b, benchFnCalls+1)
	p := observedPlugin(b, sdkObserver(b, tp, observe.WithMinDuration(0)), "instrumented.wasm")
	ctx := sampledRequest(b, tp)
	c := callCase(b, ctx, p, "loop")
	_ = tp.ForceFlush(ctx)
	want := exp.spans.Load()
	run := c.run
	c.run = func(n int) {
		run(n)
		_ = tp.ForceFlush(ctx)
		want += int64(n) * (benchFnCalls + 1)
	}
	c.check = func() { checkExported(b, tp, exp, want, false) }
	return c
}

// functionSpansNative is instrumentedKept's work done in Go: benchFnCalls
// calls of a short function, each in a span with the attributes a guest
// function span has, until they reach the exporter.
func functionSpansNative(b *testing.B) benchCase {
	tp, exp := benchTracerProvider(b, benchFnCalls)
	ctx := sampledRequest(b, tp)
	tracer := tp.Tracer("bench")
	var spans int64
	return benchCase{
		run: func(n int) {
			for range n {
				for i := range benchFnCalls {
					_, span := tracer.Start(ctx, "short", trace.WithAttributes(
						attribute.String("code.function.name", "short"), attribute.Int64("wasm.function.index", 3)))
					shortFunction(i)
					span.End()
				}
				_ = tp.ForceFlush(ctx)
			}
			spans += int64(n) * benchFnCalls
		},
		check: func() { checkExported(b, tp, exp, spans, false) },
	}
}

//go:noinline
func shortFunction(i int) int { return i * 3 }

// reportPerFunctionCall adds the time per guest function call.
func reportPerFunctionCall(b *testing.B) {
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/benchFnCalls, "ns/fncall")
}

// benchLoopCalls runs b.N plugin calls of "loop", after an untimed first
// one (which also runs a reactor's _initialize), calling after after each.
func benchLoopCalls(b *testing.B, ctx context.Context, p *extism.Plugin, after func()) {
	c := callCase(b, ctx, p, "loop")
	if after != nil {
		after()
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		c.run(1)
		if after != nil {
			after()
		}
	}
	b.StopTimer()
	reportPerFunctionCall(b)
}

// observedLoop runs "loop" of file with an SDK observer under a sampled
// caller, flushing after each call, and checks that wantPerCall spans per
// call (atLeast: or more) reached the exporter.
func observedLoop(b *testing.B, file string, wantPerCall int64, atLeast bool, opts ...observe.Option) {
	tp, exp := benchTracerProvider(b, benchFnCalls+2)
	p := observedPlugin(b, sdkObserver(b, tp, opts...), file)
	ctx := sampledRequest(b, tp)
	flush := func() { _ = tp.ForceFlush(ctx) }
	var before int64
	first := true
	benchLoopCalls(b, ctx, p, func() {
		flush()
		if first { // after the untimed first call
			before, first = exp.spans.Load(), false
		}
	})
	checkExported(b, tp, exp, before+int64(b.N)*wantPerCall, atLeast)
}

// BenchmarkInstrumented: instrumented.wasm's "loop" makes 10,000
// instrumented calls (enter, call, exit) of a very short function.
//
//   - unobserved: Observe API host functions that do nothing.
//   - min-20us: the observer, WithMinDuration default (20µs): every
//     function span is filtered out.
//   - min-0: WithMinDuration(0): every function span is kept and exported.
func BenchmarkInstrumented(b *testing.B) {
	const file = "instrumented.wasm"
	b.Run("impl=unobserved", func(b *testing.B) {
		benchLoopCalls(b, context.Background(), floorPlugin(b, file), nil)
	})
	b.Run("impl=clock-floor", func(b *testing.B) {
		benchLoopCalls(b, context.Background(), clockFloorPlugin(b, file), nil)
	})
	b.Run("impl=noop-provider", func(b *testing.B) {
		benchLoopCalls(b, context.Background(), observedPlugin(b, noopObserver(), file), nil)
	})
	b.Run("impl=min-20us", func(b *testing.B) {
		observedLoop(b, file, 1, true)
	})
	b.Run("impl=min-0", func(b *testing.B) {
		observedLoop(b, file, 1+benchFnCalls, false, observe.WithMinDuration(0))
	})
}

// BenchmarkFunctionSpans: bench/calls.wasm's "loop", an ordinary module,
// makes 10,000 calls of a small internal function.
//
//   - unobserved: plain Extism.
//   - observer-only: with the observer, without WithFunctionSpans.
//   - all-min-20us: WithFunctionSpans("*"), WithMinDuration default: every
//     function span is filtered out.
//   - all-min-0: WithFunctionSpans("*"), WithMinDuration(0): every
//     function span is kept and exported.
func BenchmarkFunctionSpans(b *testing.B) {
	const file = "bench/calls.wasm"
	b.Run("impl=unobserved", func(b *testing.B) {
		benchLoopCalls(b, context.Background(), newBenchPlugin(b, context.Background(), file, nil), nil)
	})
	b.Run("impl=observer-only", func(b *testing.B) {
		observedLoop(b, file, 1, false)
	})
	b.Run("impl=all-min-20us", func(b *testing.B) {
		observedLoop(b, file, 1, true, observe.WithFunctionSpans("*"))
	})
	b.Run("impl=all-min-0", func(b *testing.B) {
		observedLoop(b, file, 1+benchFnCalls, false, observe.WithFunctionSpans("*"), observe.WithMinDuration(0))
	})
}

// BenchmarkHostFunctionSpans: one op is one plugin call of hostcall.wasm
// "run", which calls the app's host function app_work twice (once inside a
// guest span), with an SDK TracerProvider. host-spans adds
// WithHostFunctionSpans("*"): two spans more per call, beside the same
// observer without them; ns/hostcall is per host call.
func BenchmarkHostFunctionSpans(b *testing.B) {
	appWork := extism.NewHostFunctionWithStack("app_work", func(context.Context, *extism.CurrentPlugin, []uint64) {}, nil, nil)
	for _, tc := range []struct {
		name string
		opts []observe.Option
	}{{"observed", nil}, {"host-spans", []observe.Option{observe.WithHostFunctionSpans("*")}}} {
		b.Run("impl="+tc.name, func(b *testing.B) {
			tp, _ := benchTracerProvider(b, 1000)
			obs := sdkObserver(b, tp, tc.opts...)
			p := newBenchPlugin(b, obs.Context(context.Background()), "hostcall.wasm", append(obs.HostFunctions(), appWork))
			ctx, span := tp.Tracer("bench").Start(context.Background(), "request")
			defer span.End()
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := p.CallWithContext(ctx, "run", nil); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/2, "ns/hostcall")
		})
	}
}

// BenchmarkHTTPSpans: one op is one plugin call of http.wasm "get", a GET
// to a server on 127.0.0.1, with an SDK TracerProvider; http-spans is the
// default (HTTP spans on) with the W3C propagator: a client span and a
// traceparent header per request, beside the same observer with
// WithHTTPSpans(false).
func BenchmarkHTTPSpans(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	b.Cleanup(srv.Close)
	for _, tc := range []struct {
		name string
		opts []observe.Option
	}{{"observed", []observe.Option{observe.WithHTTPSpans(false)}}, {"http-spans", []observe.Option{observe.WithPropagator(propagation.TraceContext{})}}} {
		b.Run("impl="+tc.name, func(b *testing.B) {
			tp, _ := benchTracerProvider(b, 1000)
			obs := sdkObserver(b, tp, tc.opts...)
			m := benchManifest(b, "http.wasm")
			m.AllowedHosts = []string{"127.0.0.1"}
			p, err := extism.NewPlugin(obs.Context(context.Background()), m, extism.PluginConfig{}, obs.HostFunctions())
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { p.Close(context.Background()) })
			ctx, span := tp.Tracer("bench").Start(context.Background(), "request")
			defer span.End()
			url := []byte(srv.URL + "/")
			b.ReportAllocs()
			for b.Loop() {
				if rc, _, err := p.CallWithContext(ctx, "get", url); rc != 2 || err != nil {
					b.Fatalf("rc=%d err=%v", rc, err)
				}
			}
		})
	}
}
