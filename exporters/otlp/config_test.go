package otlp

import (
	"context"
	"maps"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/resource"

	"github.com/extism-observe/observe/internal/testutil"
)

func TestTarget(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		opts []Option
		sig  signal
		want target
	}{
		{
			name: "nothing: all left to the exporter",
			want: target{protocol: GRPC},
		},
		{
			name: "env protocol",
			env:  map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"},
			want: target{protocol: HTTP},
		},
		{
			name: "per-signal env protocol wins",
			env:  map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf", "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL": " grpc "},
			sig:  metrics,
			want: target{protocol: GRPC},
		},
		{
			name: "per-signal env protocol is the signal's only",
			env:  map[string]string{"OTEL_EXPORTER_OTLP_METRICS_PROTOCOL": "http/protobuf"},
			sig:  logs,
			want: target{protocol: GRPC},
		},
		{
			name: "option protocol wins over env",
			env:  map[string]string{"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf"},
			opts: []Option{WithProtocol(GRPC)},
			want: target{protocol: GRPC},
		},
		{
			name: "host:port is TLS",
			opts: []Option{WithEndpoint("collector:4317")},
			want: target{protocol: GRPC, url: "https://collector:4317"},
		},
		{
			name: "host:port with WithInsecure",
			opts: []Option{WithInsecure(), WithEndpoint("collector:4317")},
			want: target{protocol: GRPC, url: "https://collector:4317", insecure: true},
		},
		{
			name: "IPv6 host:port",
			opts: []Option{WithEndpoint("[::1]:4317")},
			want: target{protocol: GRPC, url: "https://[::1]:4317"},
		},
		{
			name: "gRPC drops the path",
			opts: []Option{WithEndpoint("http://collector:4317/ignored")},
			want: target{protocol: GRPC, url: "http://collector:4317"},
		},
		{
			name: "HTTP host:port takes the signal path",
			opts: []Option{WithProtocol(HTTP), WithEndpoint("collector:4318")},
			sig:  metrics,
			want: target{protocol: HTTP, url: "https://collector:4318/v1/metrics"},
		},
		{
			name: "HTTP URL path is a base",
			opts: []Option{WithProtocol(HTTP), WithEndpoint("http://collector:4318/otlp/")},
			sig:  logs,
			want: target{protocol: HTTP, url: "http://collector:4318/otlp/v1/logs"},
		},
		{
			name: "later endpoint wins, empty is ignored",
			opts: []Option{WithEndpoint("a:1"), WithEndpoint("b:2"), WithEndpoint("")},
			want: target{protocol: GRPC, url: "https://b:2"},
		},
		{
			name: "headers merge over env, case-insensitively",
			env:  map[string]string{"OTEL_EXPORTER_OTLP_HEADERS": "X-Token=env,x-env=1"},
			opts: []Option{WithHeaders(map[string]string{"X-TOKEN": "first"}), WithHeaders(map[string]string{"x-token": "second"})},
			want: target{protocol: GRPC, headers: map[string]string{"x-token": "second", "x-env": "1"}},
		},
		{
			name: "per-signal env headers replace the general ones",
			env:  map[string]string{"OTEL_EXPORTER_OTLP_HEADERS": "x-env=1", "OTEL_EXPORTER_OTLP_TRACES_HEADERS": "x-traces=2"},
			opts: []Option{WithHeaders(map[string]string{"x-opt": "3"})},
			want: target{protocol: GRPC, headers: map[string]string{"x-traces": "2", "x-opt": "3"}},
		},
		{
			name: "bad env header pairs are skipped",
			env:  map[string]string{"OTEL_EXPORTER_OTLP_HEADERS": "novalue,bad key=1,good=%zz,ok=yes"},
			opts: []Option{WithHeaders(map[string]string{"x-opt": "3"})},
			want: target{protocol: GRPC, headers: map[string]string{"ok": "yes", "x-opt": "3"}},
		},
		{
			name: "env headers alone are left to the exporter",
			env:  map[string]string{"OTEL_EXPORTER_OTLP_HEADERS": "x-env=1"},
			opts: []Option{WithHeaders(nil)},
			want: target{protocol: GRPC},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clearEnv(t)
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			c := newConfig(tc.opts)
			got, err := c.target(tc.sig)
			if err != nil {
				t.Fatal(err)
			}
			checkTarget(t, got, tc.want)
		})
	}
}

func checkTarget(t *testing.T, got, want target) {
	t.Helper()
	if got.protocol != want.protocol || got.url != want.url || got.insecure != want.insecure || !maps.Equal(got.headers, want.headers) {
		t.Errorf("target = %+v, want %+v", got, want)
	}
	if (got.headers == nil) != (want.headers == nil) {
		t.Errorf("headers %v, want %v (nil: left to the exporter)", got.headers, want.headers)
	}
}

func TestParseHeaders(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    map[string]string
		wantErr bool
	}{
		{"", map[string]string{}, false},
		{"  ", map[string]string{}, false},
		{"a=1", map[string]string{"a": "1"}, false},
		{" Api-Key = s3cr%3Dt , b=2", map[string]string{"api-key": "s3cr=t", "b": "2"}, false},
		{"a=1,a=2", map[string]string{"a": "2"}, false},
		{"empty=", map[string]string{"empty": ""}, false},
		{"a=x=y", map[string]string{"a": "x=y"}, false},
		{"noequals", map[string]string{}, true},
		{"=value", map[string]string{}, true},
		{"sp ace=1,ok=2", map[string]string{"ok": "2"}, true},
		{"bad=%zz,ok=2", map[string]string{"ok": "2"}, true},
	} {
		got, err := parseHeaders(tc.in)
		if !maps.Equal(got, tc.want) || (err != nil) != tc.wantErr {
			t.Errorf("parseHeaders(%q) = %v, %v; want %v, error %v", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestPresetConfig(t *testing.T) {
	all := setOf(traces, metrics, logs)
	for _, tc := range []struct {
		name    string
		opts    []Option
		url     string // of traces
		headers [numSignals]map[string]string
		signals signalSet
	}{
		{
			name:    "Honeycomb",
			opts:    []Option{Honeycomb("hc-key")},
			url:     "https://api.honeycomb.io:443",
			headers: [numSignals]map[string]string{{"x-honeycomb-team": "hc-key"}, {"x-honeycomb-team": "hc-key"}, {"x-honeycomb-team": "hc-key"}},
			signals: all,
		},
		{
			name: "Honeycomb with a metrics dataset",
			opts: []Option{Honeycomb("hc-key"), HoneycombMetricsDataset("plugin-metrics")},
			url:  "https://api.honeycomb.io:443",
			headers: [numSignals]map[string]string{
				traces:  {"x-honeycomb-team": "hc-key"},
				metrics: {"x-honeycomb-team": "hc-key", "x-honeycomb-dataset": "plugin-metrics"},
				logs:    {"x-honeycomb-team": "hc-key"},
			},
			signals: all,
		},
		{
			name:    "Honeycomb without a key leaves the headers to the environment",
			opts:    []Option{Honeycomb("")},
			url:     "https://api.honeycomb.io:443",
			signals: all,
		},
		{
			name:    "Lightstep",
			opts:    []Option{Lightstep("ls-token")},
			url:     "https://ingest.lightstep.com:443",
			headers: [numSignals]map[string]string{{"lightstep-access-token": "ls-token"}, {"lightstep-access-token": "ls-token"}, {"lightstep-access-token": "ls-token"}},
			signals: all,
		},
		{name: "DatadogAgent default host", opts: []Option{DatadogAgent("")}, url: "http://localhost:4317", signals: all},
		{name: "DatadogAgent", opts: []Option{DatadogAgent("dd-agent")}, url: "http://dd-agent:4317", signals: all},
		{name: "Jaeger", opts: []Option{Jaeger("jaeger")}, url: "http://jaeger:4317", signals: setOf(traces)},
		{name: "Jaeger default host", opts: []Option{Jaeger("")}, url: "http://localhost:4317", signals: setOf(traces)},
		{name: "Collector", opts: []Option{Collector("otel-collector")}, url: "http://otel-collector:4317", signals: all},
		{name: "Collector with a port", opts: []Option{Collector("otel-collector:14317")}, url: "http://otel-collector:14317", signals: all},
		{name: "Collector IPv6", opts: []Option{Collector("::1")}, url: "http://[::1]:4317", signals: all},
		{name: "Collector IPv6 bracketed", opts: []Option{Collector("[::1]")}, url: "http://[::1]:4317", signals: all},
		{name: "later preset wins", opts: []Option{Jaeger("jaeger"), Collector("")}, url: "http://localhost:4317", signals: all},
		{
			name:    "endpoint after a preset wins, headers stay",
			opts:    []Option{Lightstep("ls-token"), WithEndpoint("proxy:8443")},
			url:     "https://proxy:8443",
			headers: [numSignals]map[string]string{{"lightstep-access-token": "ls-token"}, {"lightstep-access-token": "ls-token"}, {"lightstep-access-token": "ls-token"}},
			signals: all,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clearEnv(t)
			c := newConfig(tc.opts)
			for s := range numSignals {
				if got, want := c.accepts(s), tc.signals.has(s); got != want {
					t.Errorf("%s enabled = %v, want %v", s, got, want)
				}
				got, err := c.target(s)
				if err != nil {
					t.Fatal(err)
				}
				want := target{protocol: GRPC, url: tc.url, headers: tc.headers[s]}
				checkTarget(t, got, want)
			}
		})
	}

	t.Run("preset turns WithInsecure off", func(t *testing.T) {
		clearEnv(t)
		c := newConfig([]Option{WithInsecure(), Honeycomb("k")})
		if c.insecure {
			t.Error("Honeycomb after WithInsecure is insecure")
		}
		c = newConfig([]Option{Honeycomb("k"), WithInsecure()})
		if !c.insecure {
			t.Error("WithInsecure after Honeycomb is ignored")
		}
	})
	t.Run("preset protocol can be overridden", func(t *testing.T) {
		clearEnv(t)
		c := newConfig([]Option{Honeycomb("k"), WithProtocol(HTTP)})
		got, err := c.target(traces)
		if err != nil {
			t.Fatal(err)
		}
		if got.url != "https://api.honeycomb.io:443/v1/traces" {
			t.Errorf("url = %s, want the Honeycomb OTLP/HTTP traces URL", got.url)
		}
	})
	t.Run("an option is reusable", func(t *testing.T) {
		// Applying an option to a second config must not change the first.
		clearEnv(t)
		h := WithHeaders(map[string]string{"a": "1"})
		c1 := newConfig([]Option{h})
		c2 := newConfig([]Option{h, WithHeaders(map[string]string{"b": "2"})})
		if len(c1.headers) != 1 || len(c2.headers) != 2 {
			t.Errorf("headers %v and %v, want 1 and 2", c1.headers, c2.headers)
		}
	})
}

func TestPresetsReachReceiver(t *testing.T) {
	team := map[string]string{"x-honeycomb-team": "hc-key"}
	for _, tc := range []struct {
		name     string
		protocol Protocol
		opts     func(r *testutil.Receiver) []Option
		headers  [numSignals]map[string]string
		absent   [numSignals][]string
		signals  []signal
	}{
		{
			name:     "Honeycomb",
			protocol: GRPC,
			opts: func(r *testutil.Receiver) []Option {
				return []Option{Honeycomb("hc-key"), HoneycombMetricsDataset("hc-metrics"), WithEndpoint(r.Addr), WithInsecure()}
			},
			headers: [numSignals]map[string]string{
				traces:  team,
				metrics: {"x-honeycomb-team": "hc-key", "x-honeycomb-dataset": "hc-metrics"},
				logs:    team,
			},
			absent:  [numSignals][]string{traces: {"x-honeycomb-dataset"}, logs: {"x-honeycomb-dataset"}},
			signals: allSignals,
		},
		{
			name:     "Honeycomb over HTTP",
			protocol: HTTP,
			opts: func(r *testutil.Receiver) []Option {
				return []Option{Honeycomb("hc-key"), WithProtocol(HTTP), WithEndpoint(r.URL())}
			},
			headers: [numSignals]map[string]string{traces: team, metrics: team, logs: team},
			signals: allSignals,
		},
		{
			name:     "Lightstep",
			protocol: GRPC,
			opts:     func(r *testutil.Receiver) []Option { return []Option{Lightstep("ls-token"), WithEndpoint(r.URL())} },
			headers: [numSignals]map[string]string{
				traces:  {"lightstep-access-token": "ls-token"},
				metrics: {"lightstep-access-token": "ls-token"},
				logs:    {"lightstep-access-token": "ls-token"},
			},
			signals: allSignals,
		},
		// The local presets take host:port, so they reach the receiver
		// unchanged: plaintext gRPC.
		{
			name:     "DatadogAgent",
			protocol: GRPC,
			opts:     func(r *testutil.Receiver) []Option { return []Option{DatadogAgent(r.Addr)} },
			signals:  allSignals,
		},
		{
			name:     "Collector",
			protocol: GRPC,
			opts:     func(r *testutil.Receiver) []Option { return []Option{Collector(r.Addr)} },
			signals:  allSignals,
		},
		{
			name:     "Jaeger",
			protocol: GRPC,
			opts:     func(r *testutil.Receiver) []Option { return []Option{Jaeger(r.Addr)} },
			signals:  []signal{traces},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clearEnv(t)
			r := testutil.NewReceiver(t, string(tc.protocol))
			p := setup(t, tc.opts(r)...)
			e := emit(t, p)
			shutdown(t, p)

			for _, s := range tc.signals {
				checkHeaders(t, r, []signal{s}, tc.headers[s], tc.absent[s]...)
				switch s {
				case traces:
					checkTraces(t, r, e, defaultServiceName())
				case metrics:
					checkMetrics(t, r, defaultServiceName())
				case logs:
					checkLogs(t, r, e, defaultServiceName())
				}
			}
			for _, s := range allSignals {
				if !setOf(tc.signals...).has(s) && len(r.Got(wire(s))) != 0 {
					t.Errorf("got %d %s requests, want none", len(r.Got(wire(s))), s)
				}
			}
		})
	}
}

func TestResource(t *testing.T) {
	exe := defaultServiceName()
	if want := "unknown_service:otlp.test"; exe != want { // the test binary's name
		t.Errorf("default service.name %q, want %q", exe, want)
	}
	for _, tc := range []struct {
		name  string
		env   map[string]string
		opts  []Option
		want  map[string]any
		unset []string
	}{
		{name: "unknown_service: and the executable's name", want: map[string]any{"service.name": exe}},
		{name: "WithServiceName", opts: []Option{WithServiceName("code")}, want: map[string]any{"service.name": "code"}},
		{
			name: "OTEL_SERVICE_NAME renames the service in code",
			env:  map[string]string{"OTEL_SERVICE_NAME": "env"},
			opts: []Option{WithServiceName("code")},
			want: map[string]any{"service.name": "env"},
		},
		{
			name: "OTEL_RESOURCE_ATTRIBUTES",
			env:  map[string]string{"OTEL_RESOURCE_ATTRIBUTES": "service.name=attrs,team=core,region=eu%2Dwest"},
			opts: []Option{WithServiceName("code")},
			want: map[string]any{"service.name": "attrs", "team": "core", "region": "eu-west"},
		},
		{
			name: "OTEL_SERVICE_NAME wins over OTEL_RESOURCE_ATTRIBUTES",
			env:  map[string]string{"OTEL_SERVICE_NAME": "env", "OTEL_RESOURCE_ATTRIBUTES": "service.name=attrs"},
			want: map[string]any{"service.name": "env"},
		},
		{
			name: "WithResource wins over all",
			env:  map[string]string{"OTEL_SERVICE_NAME": "env", "OTEL_RESOURCE_ATTRIBUTES": "team=env"},
			opts: []Option{WithServiceName("code"), WithResource(resource.NewSchemaless(
				attribute.String("service.name", "explicit"), attribute.String("team", "explicit")))},
			want: map[string]any{"service.name": "explicit", "team": "explicit"},
		},
		{
			name: "WithResource with another schema URL",
			opts: []Option{WithResource(resource.NewWithAttributes("https://opentelemetry.io/schemas/1.0.0", attribute.String("k", "v")))},
			want: map[string]any{"service.name": exe, "k": "v"},
		},
		{
			name:  "malformed OTEL_RESOURCE_ATTRIBUTES keeps the rest",
			env:   map[string]string{"OTEL_RESOURCE_ATTRIBUTES": "novalue"},
			want:  map[string]any{"service.name": exe},
			unset: []string{"novalue"},
		},
		{
			name:  "command arguments are not recorded",
			unset: []string{"process.command_args", "process.command_line", "process.owner"},
			want:  map[string]any{"process.runtime.name": "go"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clearEnv(t)
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			c := newConfig(tc.opts)
			res, err := c.newResource(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]any{}
			for _, kv := range res.Attributes() {
				got[string(kv.Key)] = kv.Value.AsInterface()
			}
			checkAttrs(t, "resource", got, tc.want)
			for _, k := range tc.unset {
				if v, ok := got[k]; ok {
					t.Errorf("resource has %s = %v", k, v)
				}
			}
			for _, k := range []string{"telemetry.sdk.language", "telemetry.sdk.version", "host.name", "process.pid", "process.executable.name"} {
				if _, ok := got[k]; !ok {
					t.Errorf("resource lacks %s", k)
				}
			}
		})
	}
}
