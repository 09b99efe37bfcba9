package otlp

import (
	"maps"
	"strings"
	"time"

	"go.opentelemetry.io/otel/sdk/resource"
)

// Protocol is the OTLP transport that telemetry is sent over. Its values are
// those of the OTEL_EXPORTER_OTLP_PROTOCOL environment variable.
type Protocol string

const (
	// GRPC sends OTLP over gRPC, by default to localhost:4317. It is the
	// default when neither [WithProtocol] nor OTEL_EXPORTER_OTLP_PROTOCOL
	// chooses.
	GRPC Protocol = "grpc"
	// HTTP sends OTLP as protobuf over HTTP, by default to
	// localhost:4318, posting to /v1/traces, /v1/metrics and /v1/logs.
	HTTP Protocol = "http/protobuf"
)

// config is the configuration that the options give. Whatever is left at its
// zero value is decided by the environment when [Setup] runs, and failing
// that by the OpenTelemetry defaults.
type config struct {
	protocol Protocol // "": per signal from OTEL_EXPORTER_OTLP_*PROTOCOL, else GRPC
	endpoint string   // "": left to the exporters, which read OTEL_EXPORTER_OTLP_*ENDPOINT
	insecure bool
	// headers go with every signal, signalHeaders with one only; both have
	// lower-case keys, so that a key set twice in different cases is one
	// header.
	headers       map[string]string
	signalHeaders [numSignals]map[string]string
	// only, when not zero, is the set of signals a preset's backend accepts.
	only         signalSet
	serviceName  string
	resource     *resource.Resource
	batchTimeout time.Duration
	maxQueueSize int
}

func newConfig(opts []Option) config {
	var c config
	for _, o := range opts {
		o.apply(&c)
	}
	return c
}

// Option configures [Setup].
type Option interface {
	apply(*config)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithProtocol sets the OTLP transport for all three signals. Without it,
// each signal takes OTEL_EXPORTER_OTLP_{TRACES,METRICS,LOGS}_PROTOCOL, else
// OTEL_EXPORTER_OTLP_PROTOCOL, else [GRPC]. [Setup] fails on a protocol
// other than [GRPC] and [HTTP] (http/json is not supported by the Go
// exporters). An empty protocol is ignored.
func WithProtocol(p Protocol) Option {
	return optionFunc(func(c *config) {
		if p != "" {
			c.protocol = p
		}
	})
}

// WithEndpoint sets where all three signals are sent, replacing
// OTEL_EXPORTER_OTLP_ENDPOINT and its per-signal variants, and any earlier
// WithEndpoint or preset.
//
// The endpoint is either host:port, reached over TLS unless [WithInsecure]
// is given, or a URL whose scheme, http or https, chooses plaintext or TLS.
// With [HTTP], a URL's path is a base to which /v1/traces, /v1/metrics and
// /v1/logs are appended, as for OTEL_EXPORTER_OTLP_ENDPOINT; gRPC ignores
// the path. An empty endpoint is ignored.
func WithEndpoint(endpoint string) Option {
	return optionFunc(func(c *config) {
		if endpoint != "" {
			c.endpoint = endpoint
		}
	})
}

// WithInsecure sends telemetry in plaintext, without TLS, whatever the
// endpoint's scheme; use it for a collector or agent on the same host or
// network. A later preset turns it off again.
func WithInsecure() Option {
	return optionFunc(func(c *config) { c.insecure = true })
}

// WithHeaders adds headers (gRPC metadata for [GRPC]) to every export of all
// three signals, typically a backend's API key. A key given again, by a later
// WithHeaders or a preset, takes the later value; keys are case-insensitive.
//
// The headers of OTEL_EXPORTER_OTLP_HEADERS (or, for one signal,
// OTEL_EXPORTER_OTLP_TRACES_HEADERS and the like, which replace it) are kept,
// with these set over them. Keep secrets out of the source: read them from
// a secret store or the environment.
func WithHeaders(headers map[string]string) Option {
	return optionFunc(func(c *config) { c.headers = addHeaders(c.headers, headers) })
}

func addHeaders(dst, src map[string]string) map[string]string {
	if len(src) == 0 {
		return dst
	}
	if dst == nil {
		dst = make(map[string]string, len(src))
	} else {
		dst = maps.Clone(dst) // an Option may be applied to more than one config
	}
	for k, v := range src {
		dst[strings.ToLower(strings.TrimSpace(k))] = v
	}
	return dst
}

// WithServiceName sets the service.name resource attribute. It is the name
// in code: OTEL_SERVICE_NAME, or service.name in OTEL_RESOURCE_ATTRIBUTES,
// still renames the service at deployment, and a service.name in
// [WithResource] wins over both. Without any of them the service is
// "unknown_service:" and the executable's name, as the resource semantic
// conventions ask. An empty name is ignored.
func WithServiceName(name string) Option {
	return optionFunc(func(c *config) {
		if name != "" {
			c.serviceName = name
		}
	})
}

// WithResource adds attributes to the resource that describes the process
// in all three signals. Its attributes are merged over the default resource
// (service name, telemetry SDK, host name, process ID, executable and Go
// runtime, and OTEL_RESOURCE_ATTRIBUTES), winning where both set a key. A
// later WithResource replaces an earlier one; a nil resource is ignored.
func WithResource(r *resource.Resource) Option {
	return optionFunc(func(c *config) {
		if r != nil {
			c.resource = r
		}
	})
}

// WithBatchTimeout sets the longest time a finished span or an emitted log
// record waits before it is exported, in place of OTEL_BSP_SCHEDULE_DELAY
// (default 5 s) and OTEL_BLRP_SCHEDULE_DELAY (default 1 s). A full batch (512
// items) is exported at once whatever the timeout. Metrics are exported on
// their own interval, OTEL_METRIC_EXPORT_INTERVAL (default 60 s). A duration
// that is not positive is ignored.
func WithBatchTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) {
		if d > 0 {
			c.batchTimeout = d
		}
	})
}

// WithMaxQueueSize sets how many finished spans, and how many log records,
// may wait for export, in place of OTEL_BSP_MAX_QUEUE_SIZE and
// OTEL_BLRP_MAX_QUEUE_SIZE (default 2048 each). Spans and records that
// arrive when the queue is full are dropped, not waited for; dropped spans
// are counted in the observe.exporter.spans.dropped metric and warned about
// (see package [github.com/extism-observe/observe/exporters/batch]).
//
// # Sizing
//
// The queue must hold the spans made while an export is in flight. One
// plugin call can make up to observe.DefaultMaxSpansPerCall (10,000) guest
// spans, so a host whose plugins trace inner loops needs more than the
// default: take the spans of one call times the calls that run at once,
// e.g. 8 concurrent calls of 2,000 spans each need 16,384. A queued span
// holds roughly 0.5–2 KiB, depending on its attributes and events, so that
// queue costs up to some 32 MiB at its fullest. A size that is not positive
// is ignored.
func WithMaxQueueSize(n int) Option {
	return optionFunc(func(c *config) {
		if n > 0 {
			c.maxQueueSize = n
		}
	})
}
