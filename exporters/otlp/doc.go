// Package otlp sets up OpenTelemetry tracing, metrics and logs exported
// over OTLP, gRPC or HTTP, in one call, for a host that runs Extism plugins
// with the observe package, or for any Go program.
//
//	p, err := otlp.Setup(ctx, otlp.WithServiceName("plugin-host"))
//	if err != nil {
//		return err
//	}
//	defer p.Shutdown(context.WithoutCancel(ctx))
//	obs := observe.New(
//		observe.WithTracerProvider(p.TracerProvider),
//		observe.WithMeterProvider(p.MeterProvider),
//	)
//
// [Setup] returns the three SDK providers ([Providers]) and leaves the
// OpenTelemetry globals alone; its documentation shows how to install them.
//
// # Where the data goes
//
// With no option, where an official OTLP exporter would send it: the
// endpoint, headers, TLS, compression and timeout come from the standard
// environment variables, and otherwise from the defaults (gRPC to
// localhost:4317). An option given to Setup wins over the variable that
// does the same. The presets are options that point at one backend:
//
//   - [Honeycomb](apiKey), with [HoneycombMetricsDataset](name) for
//     metrics: api.honeycomb.io:443.
//   - [Lightstep](accessToken): ServiceNow Cloud Observability,
//     ingest.lightstep.com:443.
//   - [DatadogAgent](host): the Datadog Agent's OTLP intake, host:4317.
//   - [Jaeger](host): host:4317, traces only.
//   - [Collector](host): an OpenTelemetry Collector, host:4317.
//
// Each sets the protocol (gRPC), the endpoint (TLS for the vendors,
// plaintext for the local agents) and the signals, and adds its headers.
// Options are applied in order, so an option after a preset overrides it:
// WithEndpoint to go through a proxy, WithProtocol([HTTP]) for Honeycomb
// over OTLP/HTTP. Pass secrets in, from a secret store or the environment;
// none is built in.
//
// # Environment variables
//
//   - OTEL_EXPORTER_OTLP_PROTOCOL (grpc or http/protobuf; default grpc, not
//     the specification's http/protobuf) and
//     OTEL_EXPORTER_OTLP_{TRACES,METRICS,LOGS}_PROTOCOL: the transport,
//     unless [WithProtocol] is given.
//   - OTEL_EXPORTER_OTLP_ENDPOINT and its per-signal variants, such as
//     OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: where to send, unless
//     [WithEndpoint] or a preset is given.
//   - OTEL_EXPORTER_OTLP_HEADERS and its per-signal variants: headers, with
//     those of [WithHeaders] and the presets set over them.
//   - OTEL_EXPORTER_OTLP_INSECURE, _CERTIFICATE, _COMPRESSION, _TIMEOUT and
//     their per-signal variants, read by the exporters as usual.
//   - OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES: the resource. Unlike
//     the other variables, they win over [WithServiceName], the name in
//     code; [WithResource] wins over them.
//   - OTEL_TRACES_EXPORTER, OTEL_METRICS_EXPORTER, OTEL_LOGS_EXPORTER: a
//     comma-separated list of "otlp" (the default) and "console" (to
//     stdout: the trees and metric lines of package
//     github.com/extism-observe/observe/exporters/stdout for traces and
//     metrics, OpenTelemetry's stdoutlog for logs), or "none", which turns
//     that signal's export off. Setup fails on any other value, naming it,
//     as the contrib autoexport package does. A preset limits OTLP to the
//     signals its backend takes; console still goes to stdout.
//   - OTEL_BSP_*, OTEL_BLRP_*, OTEL_METRIC_EXPORT_INTERVAL and
//     OTEL_TRACES_SAMPLER: batching, the metric interval and sampling, read
//     by the SDK; [WithBatchTimeout] and [WithMaxQueueSize] win over the
//     batching ones.
package otlp
