package observe

import (
	"context"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// BenchmarkStack times the span stack alone, without wasm, on the path of
// almost every instrumented function call: a function span that ends
// before WithMinDuration and is dropped. clock-floor is the two clock
// readings that timing a call takes, which no implementation goes below.
func BenchmarkStack(b *testing.B) {
	b.Run("impl=clock-floor", func(b *testing.B) {
		epoch := time.Now()
		var d time.Duration
		for range b.N {
			d += time.Since(epoch)
			d += time.Since(epoch)
		}
		if d < 0 {
			b.Fatal("the monotonic clock went back")
		}
	})
	b.Run("impl=filtered-function", func(b *testing.B) {
		tracer := sdktrace.NewTracerProvider().Tracer("bench")
		ctx, root := tracer.Start(context.Background(), "call")
		s := &spanStack{tracer: tracer, wall: time.Now, since: time.Since, minDuration: 20 * time.Microsecond,
			maxDepth: 100, maxSpans: 1 << 30, drops: recordedDrops{}}
		s.reset(ctx, root)
		b.ReportAllocs()
		for range b.N {
			s.enterFunction(3, "f")
			s.exitFunction(3, nil)
		}
		if s.depth() != 0 {
			b.Fatalf("%d spans open: want none", s.depth())
		}
	})
}
