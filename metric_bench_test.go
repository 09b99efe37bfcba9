package observe

import (
	"context"
	"testing"

	"github.com/tetratelabs/wazero"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// memoryModule is a wasm module of one page of memory holding data at 0.
func memoryModule(data string) []byte {
	seg := append([]byte{1, 0, 0x41, 0, 0x0b, byte(len(data))}, data...) // one active segment at i32.const 0
	m := []byte{0, 'a', 's', 'm', 1, 0, 0, 0, 5, 3, 1, 0, 1, 11, byte(len(seg))}
	return append(m, seg...)
}

// BenchmarkMetricLine times what the library does for a guest counter
// line "bench.requests:1|c", without wasm and the host call around it:
// c.metric reading the line from a real wazero memory.
//
//   - guest: c.metric, the counter recorded;
//   - native: the same instrument's Add, with the same ctx;
//   - dropped: c.metric with the instrument dropped by a view, so that the
//     SDK's Add returns early: the library's part, about.
//
// Beside BenchmarkCounter, it shows how much of a guest line's cost in a
// wasm loop is the library's code, and how much is the code around it.
func BenchmarkMetricLine(b *testing.B) {
	const line = "bench.requests:1|c"
	ctx := context.Background()
	r := wazero.NewRuntime(ctx)
	b.Cleanup(func() { _ = r.Close(ctx) })
	mod, err := r.Instantiate(ctx, memoryModule(line))
	if err != nil {
		b.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider()
	spanCtx, span := tp.Tracer("bench").Start(ctx, "request")
	b.Cleanup(func() { span.End() })
	// metric returns a call of an Observer with an SDK MeterProvider, the
	// request's span live, and the instrument made.
	metric := func(b *testing.B, opts ...sdkmetric.Option) *call {
		mp := sdkmetric.NewMeterProvider(append([]sdkmetric.Option{sdkmetric.WithReader(sdkmetric.NewManualReader())}, opts...)...)
		b.Cleanup(func() { _ = mp.Shutdown(ctx) })
		c := &call{obs: New(WithMeterProvider(mp), WithTracerProvider(tp))}
		c.spans.reset(spanCtx, span)
		c.metric(mod, metricFormatStatsd, 0, uint32(len(line)))
		if c.lastInstrument == nil {
			b.Fatal("no instrument made")
		}
		return c
	}
	b.Run("impl=guest", func(b *testing.B) {
		c := metric(b)
		for b.Loop() {
			c.metric(mod, metricFormatStatsd, 0, uint32(len(line)))
		}
	})
	b.Run("impl=native", func(b *testing.B) {
		counter := metric(b).lastInstrument.counter
		for b.Loop() {
			counter.Add(spanCtx, 1)
		}
	})
	b.Run("impl=dropped", func(b *testing.B) {
		c := metric(b, sdkmetric.WithView(sdkmetric.NewView(sdkmetric.Instrument{Name: "*"},
			sdkmetric.Stream{Aggregation: sdkmetric.AggregationDrop{}})))
		for b.Loop() {
			c.metric(mod, metricFormatStatsd, 0, uint32(len(line)))
		}
	})
}
