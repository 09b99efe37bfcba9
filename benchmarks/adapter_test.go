// Package benchmarks holds the benchmarks of the observe library that need
// dependencies the library itself does not: the Extism SDK's built-in
// observe integration with the github.com/dylibso/observe-sdk/go
// OpenTelemetry adapter. See ../BENCHMARKS.md and run.sh.
package benchmarks

import (
	"context"
	"encoding/binary"
	"io"
	"os"
	"sync/atomic"
	"testing"

	observesdk "github.com/dylibso/observe-sdk/go"
	"github.com/dylibso/observe-sdk/go/adapter/opentelemetry"
	extism "github.com/extism/go-sdk"
	"github.com/rs/zerolog"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"

	"github.com/extism-observe/observe"
)

// chunk is the number of spans one plugin call makes: the default
// Limits.MaxSpansPerCall, so the observer drops nothing.
const chunk = observe.DefaultMaxSpansPerCall

const loopsWasm = "../testdata/bench/loops.wasm"

// discardExporter is a SpanExporter that drops everything, counting spans.
type discardExporter struct{ spans atomic.Int64 }

func (e *discardExporter) ExportSpans(_ context.Context, s []sdktrace.ReadOnlySpan) error {
	e.spans.Add(int64(len(s)))
	return nil
}

func (e *discardExporter) Shutdown(context.Context) error { return nil }

// discardClient is an otlptrace.Client, for the observe-sdk OpenTelemetry
// adapter, that drops everything, counting spans and telling a waiting
// benchmark after each upload.
type discardClient struct {
	spans    atomic.Int64
	uploaded chan struct{}
}

var _ otlptrace.Client = (*discardClient)(nil)

func newDiscardClient() *discardClient { return &discardClient{uploaded: make(chan struct{}, 1)} }

func (c *discardClient) Start(context.Context) error { return nil }
func (c *discardClient) Stop(context.Context) error  { return nil }

func (c *discardClient) UploadTraces(_ context.Context, rs []*tracepb.ResourceSpans) error {
	var n int64
	for _, r := range rs {
		for _, ss := range r.ScopeSpans {
			n += int64(len(ss.Spans))
		}
	}
	c.spans.Add(n)
	select {
	case c.uploaded <- struct{}{}:
	default:
	}
	return nil
}

// waitFor blocks until the client has received want spans in all.
func (c *discardClient) waitFor(want int64) {
	for c.spans.Load() < want {
		<-c.uploaded
	}
}

func manifest(b *testing.B, path string) extism.Manifest {
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	return extism.Manifest{Wasm: []extism.Wasm{extism.WasmData{Data: data}}}
}

// observedPlugin creates a plugin of m with this library's observer, on an
// SDK TracerProvider whose batch processor holds queue spans and exports to
// a discarding exporter, and metrics to a reader. The caller closes the
// plugin; the providers shut down with the benchmark.
func observedPlugin(b *testing.B, m extism.Manifest, queue int, opts ...observe.Option) (*extism.Plugin, *sdktrace.TracerProvider, *discardExporter) {
	exp := &discardExporter{}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp, sdktrace.WithMaxQueueSize(queue)))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	b.Cleanup(func() {
		_ = tp.Shutdown(context.Background())
		_ = mp.Shutdown(context.Background())
	})
	obs := observe.New(append([]observe.Option{observe.WithTracerProvider(tp), observe.WithMeterProvider(mp),
		observe.WithLogger(zerolog.New(io.Discard).Level(zerolog.InfoLevel))}, opts...)...)
	p, err := extism.NewPlugin(obs.Context(context.Background()), m, extism.PluginConfig{}, obs.HostFunctions())
	if err != nil {
		b.Fatal(err)
	}
	return p, tp, exp
}

// adapterPlugin creates a plugin of m under the Extism SDK's built-in
// observe integration with the observe-sdk OpenTelemetry adapter, no span
// filter, a channel of buffer events, and a discarding client. The caller
// closes the plugin; the adapter stops with the benchmark.
func adapterPlugin(b *testing.B, m extism.Manifest, buffer int) (*extism.Plugin, *discardClient) {
	ctx := context.Background()
	client := newDiscardClient()
	adapter := opentelemetry.NewOTelAdapter(&opentelemetry.OTelConfig{ServiceName: "bench"})
	adapter.UseCustomClient(client)
	adapter.Start(ctx)
	b.Cleanup(func() { adapter.Stop(true) })
	p, err := extism.NewPlugin(ctx, m, extism.PluginConfig{
		ObserveAdapter: adapter.AdapterBase,
		ObserveOptions: &observesdk.Options{SpanFilter: &observesdk.SpanFilter{}, ChannelBufferSize: buffer},
	}, nil)
	if err != nil {
		b.Fatal(err)
	}
	return p, client
}

// runLoop runs b.N span pairs through the "spans" export of the loops
// guest, in plugin calls of at most chunk, calling after with the spans
// made so far after each plugin call. It returns the number of calls.
func runLoop(b *testing.B, ctx context.Context, p *extism.Plugin, after func(done int)) int64 {
	b.Helper()
	var input [8]byte
	var calls int64
	for done := 0; done < b.N; {
		k := min(chunk, b.N-done)
		binary.LittleEndian.PutUint64(input[:], uint64(k))
		if rc, _, err := p.CallWithContext(ctx, "spans", input[:]); rc != 0 || err != nil {
			b.Fatalf("spans: rc=%d err=%v", rc, err)
		}
		done += k
		calls++
		after(done)
	}
	return calls
}

// BenchmarkSpanAdapter: one op is one span (start and end) until it has
// reached the exporter, three ways, beside each other:
//
//   - native: tracer.Start + span.End in Go, OpenTelemetry SDK, batch
//     processor with a queue that drops nothing, discarding exporter.
//   - guest: a guest loop of span-enter + span-exit in one Extism call
//     with this library's observer and the same TracerProvider set-up.
//   - observe-sdk: the same guest loop under the Extism SDK's built-in
//     observe integration (PluginConfig.ObserveAdapter) with the
//     observe-sdk OpenTelemetry adapter and a discarding otlptrace.Client,
//     waiting after each plugin call until its spans are uploaded.
func BenchmarkSpanAdapter(b *testing.B) {
	b.Run("impl=native", func(b *testing.B) {
		exp := &discardExporter{}
		tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp, sdktrace.WithMaxQueueSize(2*chunk+2)))
		defer tp.Shutdown(context.Background())
		tracer := tp.Tracer("bench")
		ctx, parent := tracer.Start(context.Background(), "request")
		defer parent.End()
		b.ReportAllocs()
		b.ResetTimer()
		for done := 0; done < b.N; {
			k := min(chunk, b.N-done)
			for range k {
				_, span := tracer.Start(ctx, "s")
				span.End()
			}
			_ = tp.ForceFlush(ctx)
			done += k
		}
		b.StopTimer()
		if got := exp.spans.Load(); got != int64(b.N) {
			b.Fatalf("exporter got %d spans, want %d", got, b.N)
		}
	})

	b.Run("impl=guest", func(b *testing.B) {
		p, tp, exp := observedPlugin(b, manifest(b, loopsWasm), 2*chunk+2)
		defer p.Close(context.Background())
		ctx, parent := tp.Tracer("bench").Start(context.Background(), "request")
		defer parent.End()
		b.ReportAllocs()
		b.ResetTimer()
		calls := runLoop(b, ctx, p, func(int) { _ = tp.ForceFlush(ctx) })
		b.StopTimer()
		if got, want := exp.spans.Load(), int64(b.N)+calls; got != want { // and a span per call
			b.Fatalf("exporter got %d spans, want %d", got, want)
		}
	})

	b.Run("impl=observe-sdk", func(b *testing.B) {
		ctx := context.Background()
		// No duration filter, as for the other two; the guest's spans are
		// top-level, which the observe-sdk keeps in any case.
		p, client := adapterPlugin(b, manifest(b, loopsWasm), 1024)
		defer p.Close(ctx)
		b.ReportAllocs()
		b.ResetTimer()
		runLoop(b, ctx, p, func(done int) { client.waitFor(int64(done)) })
		b.StopTimer()
		if got := client.spans.Load(); got != int64(b.N) {
			b.Fatalf("client got %d spans, want %d", got, b.N)
		}
	})
}

// fnCalls is the number of instrumented function calls one call of
// instrumented.wasm's "loop" makes (as in the root package's benchmarks).
const fnCalls = 10_000

const instrumentedWasm = "../testdata/instrumented.wasm"

// BenchmarkInstrumentedAdapter: one op is one plugin call of
// instrumented.wasm's "loop", 10,000 calls of a short instrumented
// function, every one kept as a span until it has reached the exporter,
// two ways beside each other; ns/fncall is per function call:
//
//   - observe: this library's observer with WithMinDuration(0), an SDK
//     TracerProvider with a batch processor that drops nothing, flushed
//     after each call, and a discarding exporter.
//   - observe-sdk: the Extism SDK's built-in observe integration with the
//     observe-sdk OpenTelemetry adapter, no span filter, and a discarding
//     otlptrace.Client, waiting after each call until its function spans
//     are uploaded.
func BenchmarkInstrumentedAdapter(b *testing.B) {
	b.Run("impl=observe", func(b *testing.B) {
		p, tp, exp := observedPlugin(b, manifest(b, instrumentedWasm), 2*fnCalls+16,
			observe.WithMinDuration(0), observe.WithLimits(observe.Limits{MaxSpansPerCall: 2 * fnCalls}))
		defer p.Close(context.Background())
		ctx, parent := tp.Tracer("bench").Start(context.Background(), "request")
		defer parent.End()
		before := int64(-1) // the spans exported after the untimed first call
		timeLoopCalls(b, func() {
			if rc, _, err := p.CallWithContext(ctx, "loop", nil); rc != 0 || err != nil {
				b.Fatalf("loop: rc=%d err=%v", rc, err)
			}
			_ = tp.ForceFlush(ctx)
			if before < 0 {
				before = exp.spans.Load()
			}
		})
		if got := exp.spans.Load() - before; got < int64(b.N)*fnCalls {
			b.Fatalf("exporter got %d spans, want at least %d", got, int64(b.N)*fnCalls)
		}
	})

	b.Run("impl=observe-sdk", func(b *testing.B) {
		ctx := context.Background()
		p, client := adapterPlugin(b, manifest(b, instrumentedWasm), 4*fnCalls)
		defer p.Close(ctx)
		var want int64
		timeLoopCalls(b, func() {
			if rc, _, err := p.CallWithContext(ctx, "loop", nil); rc != 0 || err != nil {
				b.Fatalf("loop: rc=%d err=%v", rc, err)
			}
			want += fnCalls
			client.waitFor(want)
		})
	})
}

// timeLoopCalls times b.N runs of call, one plugin call of "loop" each,
// after an untimed first one (the guest's first call), and reports the
// time per function call.
func timeLoopCalls(b *testing.B, call func()) {
	call()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		call()
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/fnCalls, "ns/fncall")
}
