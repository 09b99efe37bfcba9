package batch_test

import (
	"context"
	"testing"

	"github.com/rs/zerolog"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/extism-observe/observe/exporters/batch"
)

// discardExporter accepts every batch at once, or, once held, waits in
// ExportSpans until the benchmark ends, so that the queue stays full.
type discardExporter struct {
	held chan struct{} // nil: accept at once
}

func (e discardExporter) ExportSpans(ctx context.Context, _ []sdktrace.ReadOnlySpan) error {
	if e.held != nil {
		select {
		case <-e.held:
		case <-ctx.Done():
		}
	}
	return nil
}

func (discardExporter) Shutdown(context.Context) error { return nil }

// processors are the two processors compared, with the same defaults.
var processors = []struct {
	name string
	make func(sdktrace.SpanExporter) sdktrace.SpanProcessor
}{
	{"sdk", func(e sdktrace.SpanExporter) sdktrace.SpanProcessor {
		return sdktrace.NewBatchSpanProcessor(e)
	}},
	{"batch", func(e sdktrace.SpanExporter) sdktrace.SpanProcessor {
		// A real MeterProvider, so that counting drops costs what it will.
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
		return batch.NewSpanProcessor(e, batch.WithMeterProvider(mp), batch.WithLogger(zerolog.Nop()))
	}},
}

// BenchmarkOnEnd measures OnEnd alone, the cost on the goroutine that ends
// a span: "enqueue" puts spans in a queue with room (flushed, untimed, each
// time it is full); "drop" finds the queue full, the exporter stuck;
// "parallel" ends spans from all Ps at once, as fast as they can, while a
// discarding exporter drains the queue (drops/op says how many found it
// full; the SDK's processor does not say).
func BenchmarkOnEnd(b *testing.B) {
	span := sampledSpan("bench")
	for _, proc := range processors {
		b.Run(proc.name, func(b *testing.B) {
			b.Run("enqueue", func(b *testing.B) {
				p := proc.make(discardExporter{})
				defer func() { _ = p.Shutdown(context.Background()) }()
				ctx := context.Background()
				b.ReportAllocs()
				b.ResetTimer()
				for i := range b.N {
					if i%batch.DefaultQueueSize == 0 {
						b.StopTimer()
						_ = p.ForceFlush(ctx)
						b.StartTimer()
					}
					p.OnEnd(span)
				}
				b.StopTimer()
				reportDrops(b, p, 0)
			})
			b.Run("drop", func(b *testing.B) {
				exp := discardExporter{held: make(chan struct{})}
				p := proc.make(exp)
				defer func() { _ = p.Shutdown(context.Background()) }()
				defer close(exp.held)
				for range batch.DefaultQueueSize + batch.DefaultBatchSize + 1 {
					p.OnEnd(span) // one batch to the exporter, the queue full, one dropped
				}
				before := dropped(p)
				b.ReportAllocs()
				b.ResetTimer()
				for range b.N {
					p.OnEnd(span)
				}
				b.StopTimer()
				reportDrops(b, p, before)
			})
			b.Run("parallel", func(b *testing.B) {
				p := proc.make(discardExporter{})
				defer func() { _ = p.Shutdown(context.Background()) }()
				b.ReportAllocs()
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						p.OnEnd(span)
					}
				})
				b.StopTimer()
				reportDrops(b, p, 0)
			})
		})
	}
}

func dropped(p sdktrace.SpanProcessor) uint64 {
	if bp, ok := p.(*batch.SpanProcessor); ok {
		return bp.Dropped()
	}
	return 0
}

func reportDrops(b *testing.B, p sdktrace.SpanProcessor, before uint64) {
	if _, ok := p.(*batch.SpanProcessor); ok {
		b.ReportMetric(float64(dropped(p)-before)/float64(b.N), "drops/op")
	}
}

// BenchmarkSpan measures a whole span, started and ended through a
// TracerProvider: what OnEnd adds to it, and, in B/op, the memory a span
// holds while it waits in the queue.
func BenchmarkSpan(b *testing.B) {
	for _, proc := range processors {
		b.Run(proc.name, func(b *testing.B) {
			p := proc.make(discardExporter{})
			tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(p))
			tracer := tp.Tracer("bench")
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				_, s := tracer.Start(ctx, "bench")
				s.End()
			}
			b.StopTimer()
			_ = tp.Shutdown(ctx)
		})
	}
}
