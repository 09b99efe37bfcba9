package otlp

import (
	"net"
	"net/url"
	"strings"
)

// Honeycomb sends all three signals to Honeycomb (api.honeycomb.io:443,
// TLS), with the API key in the x-honeycomb-team header. An empty apiKey
// adds no header, so that the key can come from OTEL_EXPORTER_OTLP_HEADERS
// instead. Honeycomb takes the dataset of traces and logs from service.name;
// metrics need [HoneycombMetricsDataset].
func Honeycomb(apiKey string) Option {
	return optionFunc(func(c *config) {
		c.preset(GRPC, "https://api.honeycomb.io:443", 0)
		if apiKey != "" {
			c.headers = addHeaders(c.headers, map[string]string{"x-honeycomb-team": apiKey})
		}
	})
}

// HoneycombMetricsDataset names the Honeycomb dataset that metrics go to,
// in the x-honeycomb-dataset header. It is sent with metric exports only,
// so that traces and logs keep the dataset that Honeycomb derives from
// service.name. Use it with [Honeycomb]; an empty dataset is ignored.
func HoneycombMetricsDataset(dataset string) Option {
	return optionFunc(func(c *config) {
		if dataset != "" {
			c.signalHeaders[metrics] = addHeaders(c.signalHeaders[metrics], map[string]string{"x-honeycomb-dataset": dataset})
		}
	})
}

// Lightstep sends all three signals to ServiceNow Cloud Observability,
// formerly Lightstep (ingest.lightstep.com:443, TLS, gRPC), with the access
// token in the lightstep-access-token header. An empty accessToken adds no
// header, so that the token can come from OTEL_EXPORTER_OTLP_HEADERS
// instead. The preset is for [GRPC]: the vendor's OTLP/HTTP intake does not
// take the standard /v1/... paths that [WithEndpoint] appends.
func Lightstep(accessToken string) Option {
	return optionFunc(func(c *config) {
		c.preset(GRPC, "https://ingest.lightstep.com:443", 0)
		if accessToken != "" {
			c.headers = addHeaders(c.headers, map[string]string{"lightstep-access-token": accessToken})
		}
	})
}

// DatadogAgent sends all three signals to the OTLP intake of a Datadog
// Agent on host (port 4317, gRPC, plaintext); "" is localhost. The Agent's
// otlp_config must enable the gRPC receiver, and its logs section for logs.
// The Agent holds the API key: none is sent from here. A host with a port
// ("agent:14317") keeps its port.
func DatadogAgent(host string) Option {
	return optionFunc(func(c *config) { c.preset(GRPC, localEndpoint(host), 0) })
}

// Jaeger sends traces to Jaeger's OTLP receiver on host (port 4317, gRPC,
// plaintext); "" is localhost. Jaeger stores traces only, so metrics and
// logs are not exported: the MeterProvider and LoggerProvider that [Setup]
// returns record nothing. Send them to a [Collector] instead when they are
// wanted. A host with a port keeps its port.
func Jaeger(host string) Option {
	return optionFunc(func(c *config) { c.preset(GRPC, localEndpoint(host), setOf(traces)) })
}

// Collector sends all three signals to an OpenTelemetry Collector (or any
// OTLP receiver) on host (port 4317, gRPC, plaintext); "" is localhost. A
// host with a port keeps its port.
func Collector(host string) Option {
	return optionFunc(func(c *config) { c.preset(GRPC, localEndpoint(host), 0) })
}

// preset points c at a backend; only is the set of signals it accepts, 0
// for all.
func (c *config) preset(p Protocol, endpoint string, only signalSet) {
	c.protocol = p
	c.endpoint = endpoint
	c.insecure = false
	c.only = only
}

// localEndpoint is the plaintext gRPC endpoint of an agent or collector on
// host, at the OTLP gRPC port unless host has a port.
func localEndpoint(host string) string {
	if host == "" {
		host = "localhost"
	}
	if _, _, err := net.SplitHostPort(host); err != nil {
		host = net.JoinHostPort(strings.Trim(host, "[]"), "4317")
	}
	return (&url.URL{Scheme: "http", Host: host}).String()
}
