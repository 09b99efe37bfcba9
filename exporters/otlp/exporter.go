package otlp

import (
	"context"
	"fmt"
	"maps"
	"net/url"
	"strings"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploggrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploghttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetricgrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// target is what the options say about one signal's exporter. Its zero
// fields say nothing, so that the exporter reads the environment for them
// as it would without this package.
type target struct {
	protocol Protocol
	url      string            // full endpoint URL; "": the exporter's own choice
	insecure bool              // force plaintext
	headers  map[string]string // nil: the exporter's own choice
}

// target resolves the options, and the environment where the exporters do
// not read it themselves, for signal s.
func (c *config) target(s signal) (target, error) {
	t := target{protocol: c.protocol, insecure: c.insecure}
	if t.protocol == "" {
		p, name := envProtocol(s)
		if p != "" && p != GRPC && p != HTTP {
			return t, fmt.Errorf("otlp: %s=%q: unsupported protocol, want %q or %q", name, p, GRPC, HTTP)
		}
		t.protocol = p
	}
	if t.protocol == "" {
		t.protocol = GRPC
	}
	if t.protocol != GRPC && t.protocol != HTTP {
		return t, fmt.Errorf("otlp: protocol %q: unsupported, want %q or %q", t.protocol, GRPC, HTTP)
	}

	if c.endpoint != "" {
		u, err := endpointURL(c.endpoint)
		if err != nil {
			return t, err
		}
		if t.protocol == HTTP {
			u.Path = strings.TrimSuffix(u.Path, "/") + s.path()
		} else {
			u.Path = ""
		}
		u.RawPath = ""
		t.url = u.String()
	}

	// An exporter given headers ignores those of the environment, so the
	// environment's are merged in here, below the options'.
	if len(c.headers) > 0 || len(c.signalHeaders[s]) > 0 {
		h, err := envHeaders(s)
		if err != nil {
			otel.Handle(err) // as the exporters do: skip the bad pairs, keep the rest
		}
		maps.Copy(h, c.headers)
		maps.Copy(h, c.signalHeaders[s])
		t.headers = h
	}
	return t, nil
}

// endpointURL parses the endpoint of [WithEndpoint]: host:port, taken as
// https, or an http or https URL.
func endpointURL(endpoint string) (*url.URL, error) {
	raw := endpoint
	if !strings.Contains(raw, "://") {
		raw = "https://" + raw
	}
	u, err := url.Parse(raw)
	if err == nil && (u.Scheme != "http" && u.Scheme != "https" || u.Host == "") {
		err = fmt.Errorf("want host:port, or a URL with scheme http or https and a host")
	}
	if err != nil {
		return nil, fmt.Errorf("otlp: endpoint %q: %w", endpoint, err)
	}
	return u, nil
}

// options turns t into the options of one exporter package, given that
// package's constructors.
func options[O any](t target, withURL func(string) O, withInsecure func() O, withHeaders func(map[string]string) O) []O {
	var opts []O
	if t.url != "" {
		opts = append(opts, withURL(t.url))
	}
	if t.insecure {
		opts = append(opts, withInsecure())
	}
	if t.headers != nil {
		opts = append(opts, withHeaders(t.headers))
	}
	return opts
}

func newTraceExporter(ctx context.Context, t target) (sdktrace.SpanExporter, error) {
	if t.protocol == HTTP {
		return otlptracehttp.New(ctx, options(t, otlptracehttp.WithEndpointURL, otlptracehttp.WithInsecure, otlptracehttp.WithHeaders)...)
	}
	return otlptracegrpc.New(ctx, options(t, otlptracegrpc.WithEndpointURL, otlptracegrpc.WithInsecure, otlptracegrpc.WithHeaders)...)
}

func newMetricExporter(ctx context.Context, t target) (sdkmetric.Exporter, error) {
	if t.protocol == HTTP {
		return otlpmetrichttp.New(ctx, options(t, otlpmetrichttp.WithEndpointURL, otlpmetrichttp.WithInsecure, otlpmetrichttp.WithHeaders)...)
	}
	return otlpmetricgrpc.New(ctx, options(t, otlpmetricgrpc.WithEndpointURL, otlpmetricgrpc.WithInsecure, otlpmetricgrpc.WithHeaders)...)
}

func newLogExporter(ctx context.Context, t target) (sdklog.Exporter, error) {
	if t.protocol == HTTP {
		return otlploghttp.New(ctx, options(t, otlploghttp.WithEndpointURL, otlploghttp.WithInsecure, otlploghttp.WithHeaders)...)
	}
	return otlploggrpc.New(ctx, options(t, otlploggrpc.WithEndpointURL, otlploggrpc.WithInsecure, otlploggrpc.WithHeaders)...)
}
