package e2e_test

import (
	"bytes"
	"context"
	"sync"
	"testing"
	"time"

	extism "github.com/extism/go-sdk"
	"github.com/rs/zerolog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/extism-observe/observe"
	"github.com/extism-observe/observe/exporters/otlp"
)

// demoWasm is the guest the tests run: a WASI command that handles one
// simulated order (testdata/demo/main.go).
const demoWasm = "../testdata/demo.wasm"

// hostService is the service.name of the library tests' resource.
const hostService = "e2e-host"

// exportErrors collects what the OpenTelemetry SDK and exporters report to
// otel.Handle: export failures, partial successes the receiver answered.
var exportErrors = struct {
	sync.Mutex
	errs []error
}{}

func init() {
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		exportErrors.Lock()
		exportErrors.errs = append(exportErrors.errs, err)
		exportErrors.Unlock()
	}))
}

// exportErrorsSince returns the errors reported since a count of them.
func exportErrorsSince(n int) []error {
	exportErrors.Lock()
	defer exportErrors.Unlock()
	return append([]error(nil), exportErrors.errs[n:]...)
}

func exportErrorCount() int {
	exportErrors.Lock()
	defer exportErrors.Unlock()
	return len(exportErrors.errs)
}

// TestLibraryOTLP runs the demo through an Observer whose providers
// export over OTLP (exporters/otlp.Setup) to a real Collector, over gRPC
// and over HTTP, and checks everything the Collector wrote: the trace, the
// metrics and the log records, as the Collector understood them.
func TestLibraryOTLP(t *testing.T) {
	for _, tc := range []struct {
		name     string
		protocol otlp.Protocol
		endpoint func(*collector) string
	}{
		{"grpc", otlp.GRPC, func(c *collector) string { return c.GRPCAddr }},
		{"http", otlp.HTTP, func(c *collector) string { return "http://" + c.HTTPAddr }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			col := startCollector(t)
			errsBefore := exportErrorCount()
			ctx := withTimeout(t, 2*time.Minute)

			p, err := otlp.Setup(ctx,
				otlp.WithProtocol(tc.protocol),
				otlp.WithEndpoint(tc.endpoint(col)),
				otlp.WithInsecure(),
				otlp.WithServiceName(hostService),
			)
			if err != nil {
				t.Fatal(err)
			}
			var logged bytes.Buffer
			obs := observe.New(
				observe.WithTracerProvider(p.TracerProvider),
				observe.WithMeterProvider(p.MeterProvider),
				observe.WithLoggerProvider(p.LoggerProvider),
				// Debug, so that the span events hold every guest log.
				observe.WithLogger(zerolog.New(&logged).Level(zerolog.DebugLevel)),
			)
			manifest := extism.Manifest{Wasm: []extism.Wasm{extism.WasmFile{Path: demoWasm}}}
			plugin, err := extism.NewPlugin(obs.Context(ctx, observe.PluginName("demo")), manifest,
				extism.PluginConfig{EnableWasi: true}, obs.HostFunctions())
			if err != nil {
				t.Fatal(err)
			}

			// The caller: a server span, as an HTTP handler would have.
			callCtx, span := p.TracerProvider.Tracer("e2e").Start(ctx, "request",
				trace.WithSpanKind(trace.SpanKindServer),
				trace.WithAttributes(attribute.String("e2e.protocol", tc.name)))
			rc, _, err := plugin.CallWithContext(callCtx, "_start", nil)
			span.End()
			if err != nil || rc != 0 {
				t.Fatalf("_start: rc %d, %v", rc, err)
			}
			if err := plugin.Close(ctx); err != nil {
				t.Error(err)
			}
			shutdownCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			if err := p.Shutdown(shutdownCtx); err != nil {
				t.Fatalf("shutting the providers down: %v", err)
			}
			for _, err := range exportErrorsSince(errsBefore) {
				t.Errorf("otel.Handle: %v", err)
			}

			checkNoCollectorComplaints(t, col.stop(t))
			caller := span.SpanContext()
			got := collectTrace(t, col.traces(t))
			checkDemoTrace(t, got, caller, "request", ptrace.SpanKindServer,
				map[string]any{"e2e.protocol": tc.name}, hostService, true)
			checkDemoMetrics(t, col.metrics(t), got, caller, hostService)
			checkDemoLogs(t, col.logs(t), got, caller, hostService, true)
		})
	}
}
