package observe

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Without WithTracerProvider, a call joins the provider of a local parent
// span; a parent that is a span context alone, such as a remote one that a
// propagator extracted, has none (its TracerProvider is the trace
// package's no-op one), so the call goes to the global provider.
func TestTracerOfTheParent(t *testing.T) {
	o := New()
	remote := trace.ContextWithRemoteSpanContext(context.Background(), trace.SpanContextFromContext(sampledContext()))
	global := newTracer(otel.GetTracerProvider())
	for name, ctx := range map[string]context.Context{
		"remote parent":     remote,
		"span context only": sampledContext(),
		"no parent":         context.Background(),
	} {
		if got := o.tracer(trace.SpanFromContext(ctx)); got != global {
			t.Errorf("%s: tracer %T, want the global provider's", name, got)
		}
	}
	tp := sdktrace.NewTracerProvider()
	_, local := tp.Tracer("app").Start(remote, "request")
	if got, want := o.tracer(local), newTracer(tp); got != want {
		t.Errorf("local parent: tracer %T, want its provider's", got)
	}
}
