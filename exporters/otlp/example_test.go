package otlp_test

import (
	"context"
	"log"
	"os"
	"time"

	extism "github.com/extism/go-sdk"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/log/global"

	"github.com/extism-observe/observe"
	"github.com/extism-observe/observe/exporters/otlp"
)

// A host sets up OTLP export once, and gives the providers to the Observer
// whose host functions its plugins get. The endpoint comes from
// OTEL_EXPORTER_OTLP_ENDPOINT, else localhost:4317.
func Example() {
	ctx := context.Background()
	p, err := otlp.Setup(ctx, otlp.WithServiceName("plugin-host"))
	if err != nil {
		log.Fatal(err)
	}
	defer func() {
		// Shutdown sends what is still buffered; bound how long it may take.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := p.Shutdown(ctx); err != nil {
			log.Print(err)
		}
	}()

	obs := observe.New(
		observe.WithTracerProvider(p.TracerProvider),
		observe.WithMeterProvider(p.MeterProvider),
	)
	manifest := extism.Manifest{Wasm: []extism.Wasm{extism.WasmFile{Path: "plugin.wasm"}}}
	plugin, err := extism.NewPlugin(obs.Context(ctx), manifest, extism.PluginConfig{}, obs.HostFunctions())
	if err != nil {
		log.Fatal(err)
	}
	defer plugin.Close(ctx)
	if _, _, err := plugin.CallWithContext(ctx, "run", nil); err != nil {
		log.Print(err)
	}
}

// Presets point at a backend. The API key is read from the environment,
// never written in the source.
func ExampleHoneycomb() {
	ctx := context.Background()
	p, err := otlp.Setup(ctx,
		otlp.Honeycomb(os.Getenv("HONEYCOMB_API_KEY")),
		otlp.HoneycombMetricsDataset("plugin-metrics"),
		otlp.WithServiceName("plugin-host"),
		// Plugins that trace inner loops make many spans at once.
		otlp.WithMaxQueueSize(16384),
	)
	if err != nil {
		log.Fatal(err)
	}
	defer p.Shutdown(context.WithoutCancel(ctx))
}

// Setup leaves the OpenTelemetry globals alone. A program whose libraries,
// and the package-level functions of observe, use the globals installs the
// providers itself.
func ExampleSetup_globals() {
	ctx := context.Background()
	p, err := otlp.Setup(ctx, otlp.Collector("otel-collector"))
	if err != nil {
		log.Fatal(err)
	}
	defer p.Shutdown(context.WithoutCancel(ctx))

	otel.SetTracerProvider(p.TracerProvider)
	otel.SetMeterProvider(p.MeterProvider)
	global.SetLoggerProvider(p.LoggerProvider)
}
