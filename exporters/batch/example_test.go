package batch_test

import (
	"context"
	"fmt"

	"github.com/rs/zerolog"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/extism-observe/observe/exporters/batch"
)

func ExampleNewSpanProcessor() {
	exporter := tracetest.NewInMemoryExporter() // an OTLP exporter, in an app
	processor := batch.NewSpanProcessor(exporter,
		batch.WithQueueSize(20_000), // a plugin call records up to 20,000 spans
		batch.WithLogger(zerolog.Nop()),
	)
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(processor))

	ctx, call := tp.Tracer("example").Start(context.Background(), "plugin call")
	for range 3 {
		_, span := tp.Tracer("example").Start(ctx, "guest span")
		span.End()
	}
	call.End()

	if err := tp.ForceFlush(context.Background()); err != nil {
		fmt.Println(err)
	}
	fmt.Println("exported:", len(exporter.GetSpans()), "dropped:", processor.Dropped())
	_ = tp.Shutdown(context.Background()) // in an app, when it stops
	// Output: exported: 4 dropped: 0
}
