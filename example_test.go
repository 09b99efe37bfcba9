package observe_test

import (
	"context"
	"fmt"
	"strings"

	extism "github.com/extism/go-sdk"
	"github.com/rs/zerolog"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/extism-observe/observe"
)

// An existing Extism app enables the observer by changing two lines: the
// ctx it creates the plugin with, and the host functions it passes.
func Example() {
	// The app's OpenTelemetry set-up; here, in memory, to print the trace.
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))

	ctx := context.Background()
	manifest := extism.Manifest{Wasm: []extism.Wasm{extism.WasmFile{Path: "testdata/legacy.wasm"}}}
	plugin, err := extism.NewPlugin(
		observe.Context(ctx), // changed: was ctx
		manifest, extism.PluginConfig{},
		observe.HostFunctions(), // changed: was nil, or the app's own functions
	)
	if err != nil {
		panic(err)
	}
	defer plugin.Close(ctx)

	// A request of the app calls the plugin.
	ctx, span := tp.Tracer("app").Start(ctx, "request")
	_, _, err = plugin.CallWithContext(ctx, "run", nil)
	span.End()
	if err != nil {
		panic(err)
	}

	printTree(rec.Ended())
	// Output:
	// request
	//   run
	//     legacy.outer
	//       legacy.inner
}

// printTree prints spans indented under their parents.
func printTree(spans []sdktrace.ReadOnlySpan) {
	children := map[string][]sdktrace.ReadOnlySpan{}
	for _, s := range spans {
		parent := ""
		if s.Parent().IsValid() {
			parent = s.Parent().SpanID().String()
		}
		children[parent] = append(children[parent], s)
	}
	var walk func(parent string, depth int)
	walk = func(parent string, depth int) {
		for _, s := range children[parent] {
			fmt.Println(strings.Repeat("  ", depth) + s.Name())
			walk(s.SpanContext().SpanID().String(), depth+1)
		}
	}
	walk("", 0)
}

// WithFunctionSpans gives function spans to a module nobody instrumented:
// here every function ("*"), however short (WithMinDuration(0)).
func ExampleWithFunctionSpans() {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	obs := observe.New(
		observe.WithTracerProvider(tp),
		observe.WithFunctionSpans("*"),
		observe.WithMinDuration(0),
		observe.WithLogger(zerolog.Nop()),
	)

	ctx := context.Background()
	manifest := extism.Manifest{Wasm: []extism.Wasm{extism.WasmFile{Path: "testdata/plain.wasm"}}}
	plugin, err := extism.NewPlugin(obs.Context(ctx), manifest, extism.PluginConfig{}, obs.HostFunctions())
	if err != nil {
		panic(err)
	}
	defer plugin.Close(ctx)
	if _, _, err := plugin.CallWithContext(ctx, "run", nil); err != nil {
		panic(err)
	}

	printTree(rec.Ended())
	// Output:
	// run
	//   outer
	//     middle
	//       inner
	//       inner
}

// SpanFromContext, in the app's own host function, is the guest span the
// guest is in, so the app's spans nest inside the plugin's.
func ExampleSpanFromContext() {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	obs := observe.New(observe.WithTracerProvider(tp), observe.WithLogger(zerolog.Nop()))

	appWork := extism.NewHostFunctionWithStack("app_work", func(ctx context.Context, _ *extism.CurrentPlugin, _ []uint64) {
		ctx = trace.ContextWithSpan(ctx, observe.SpanFromContext(ctx))
		_, span := tp.Tracer("app").Start(ctx, "app.work")
		span.End()
	}, nil, nil)

	ctx := context.Background()
	manifest := extism.Manifest{Wasm: []extism.Wasm{extism.WasmFile{Path: "testdata/hostcall.wasm"}}}
	plugin, err := extism.NewPlugin(obs.Context(ctx), manifest, extism.PluginConfig{},
		append(obs.HostFunctions(), appWork))
	if err != nil {
		panic(err)
	}
	defer plugin.Close(ctx)
	if _, _, err := plugin.CallWithContext(ctx, "run", nil); err != nil {
		panic(err)
	}

	printTree(rec.Ended())
	// Output:
	// run
	//   guest.outer
	//     app.work
	//   app.work
}
