package stdout_test

import (
	"context"
	"encoding/binary"
	"sync"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/extism-observe/observe/exporters/stdout"
)

// sequentialIDs numbers traces and spans 1, 2, 3... so that the example
// prints the same IDs on every run. Real programs keep the SDK's random IDs.
type sequentialIDs struct {
	mu sync.Mutex
	n  uint64
}

func (g *sequentialIDs) next() uint64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.n++
	return g.n
}

func (g *sequentialIDs) NewIDs(ctx context.Context) (trace.TraceID, trace.SpanID) {
	var tid trace.TraceID
	binary.BigEndian.PutUint64(tid[8:], g.next())
	return tid, g.NewSpanID(ctx, tid)
}

func (g *sequentialIDs) NewSpanID(context.Context, trace.TraceID) trace.SpanID {
	var sid trace.SpanID
	binary.BigEndian.PutUint64(sid[:], g.next())
	return sid
}

func ExampleNewSpanExporter() {
	// WithoutTimings keeps this example's output the same on every run;
	// leave it out to see how long each span took.
	exp := stdout.NewSpanExporter(stdout.WithoutTimings())
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithSyncer(exp),
		sdktrace.WithIDGenerator(&sequentialIDs{}),
	)
	tracer := tp.Tracer("example")

	// What a plugin call looks like: the call span, and the spans, logs and
	// memory growth the guest reports under it.
	ctx, call := tracer.Start(context.Background(), "handle_request")
	call.SetAttributes(
		attribute.String("extism.function", "handle_request"),
		attribute.String("extism.module", "main"),
	)
	_, parse := tracer.Start(ctx, "parse")
	parse.AddEvent("log", trace.WithAttributes(
		attribute.String("log.severity", "info"),
		attribute.String("log.message", "handling request"),
	))
	parse.SetAttributes(attribute.Int("fields", 3))
	parse.End()

	_, render := tracer.Start(ctx, "render")
	render.AddEvent("memory.grow", trace.WithAttributes(
		attribute.Int("wasm.memory.grow.pages", 1),
		attribute.Int("wasm.memory.grow.bytes", 65536),
	))
	render.SetAttributes(attribute.String("template", "user page"))
	render.SetStatus(codes.Error, "template missing")
	render.End()

	call.SetAttributes(attribute.Int("extism.return_code", 1))
	call.End()

	_ = tp.Shutdown(context.Background())
	// Output:
	// trace 00000000000000000000000000000001
	// handle_request extism.function=handle_request extism.module=main extism.return_code=1
	// ├─ parse fields=3
	// │     info  handling request
	// └─ render ERROR "template missing" template="user page"
	//       memory.grow wasm.memory.grow.bytes=65536 wasm.memory.grow.pages=1
}

func ExampleNewMetricExporter() {
	exp := stdout.NewMetricExporter()
	// The periodic reader exports once more when the provider shuts down.
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewPeriodicReader(exp)))
	meter := mp.Meter("example")
	ctx := context.Background()

	requests, _ := meter.Int64Counter("guest.requests", metric.WithUnit("{request}"))
	requests.Add(ctx, 2, metric.WithAttributes(attribute.String("method", "GET")))
	requests.Add(ctx, 1, metric.WithAttributes(attribute.String("method", "POST")))
	requests.Add(ctx, 1, metric.WithAttributes(attribute.String("method", "GET")))

	queue, _ := meter.Int64Gauge("guest.queue.length")
	queue.Record(ctx, 7)

	latency, _ := meter.Float64Histogram("guest.latency", metric.WithUnit("ms"))
	for _, v := range []float64{1, 3.5, 8} {
		latency.Record(ctx, v, metric.WithAttributes(attribute.String("route", "/users")))
	}

	_ = mp.Shutdown(ctx)
	// Output:
	// guest.requests counter 3 {request} method=GET
	// guest.requests counter 1 {request} method=POST
	// guest.queue.length gauge 7
	// guest.latency histogram count=3 sum=12.5 min=1 max=8 ms route=/users
}
