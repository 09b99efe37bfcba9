package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/extism-observe/observe"
)

// usage is the help of the command as a whole.
const usage = `extism-observe runs Extism WebAssembly plugins with OpenTelemetry observability.

Usage:
  extism-observe run [flags] PLUGIN.wasm [EXPORT]
  extism-observe help [run]

Run 'extism-observe run -h' for the flags of run.
`

// runUsage is the help of the run subcommand. doc.go repeats it.
const runUsage = `Usage: extism-observe run [flags] PLUGIN.wasm [EXPORT]

Run calls EXPORT of the Extism plugin PLUGIN.wasm once, with the Observe API
enabled, and prints the guest's output (its Extism output, and its WASI stdout
and stderr as it writes them), then the trace of the call as a tree, with the
guest's spans, tags and logs, and the values of the metrics it reported.

EXPORT defaults to _start when the module exports it (a WASI command), else to
the module's only exported function (not counting _initialize).
Flags may come before or after the arguments.

Flags:
  -input string         the plugin's input (Extism input)
  -input-file path      read the plugin's input from a file
  -wasi                 enable WASI (default true; -wasi=false to disable)
  -timeout duration     stop the call after this long and print its trace
                        (default 0: no limit; a limit makes tight loops in
                        the guest slower, as wazero checks for it in them)
  -min-duration duration
                        drop function spans shorter than this (default 20µs)
  -function-spans pattern
                        give function spans to the guest functions whose names
                        match the glob pattern ('*' for all); repeatable, or
                        comma-separated
  -allow-host host      a host the plugin may send HTTP requests to (the
                        manifest's allowed_hosts; '*' globs); repeatable, or
                        comma-separated
  -config key=value     a key of the plugin's config; repeatable
  -http-server          start an HTTP server on 127.0.0.1 for the plugin to
                        call, with a span for each request it gets, so that
                        the trace shows the guest's requests arriving; its
                        URL is the plugin's input when -input is not given,
                        and its config key http_server_url; 127.0.0.1 is
                        allowed
  -log-level level      the guest logs kept, on stderr, in the trace and in
                        the OTLP log records: trace, debug, info, warn,
                        error or disabled (default info)
  -exporter name        where spans and metrics go: stdout (default), or over
                        OTLP, which also gets the guest logs: otlp (as the
                        OTEL_EXPORTER_OTLP_* variables say), collector,
                        jaeger (traces only), datadog (the Datadog Agent),
                        honeycomb (key from HONEYCOMB_API_KEY or -header) or
                        lightstep (token from LS_ACCESS_TOKEN or -header)
  -endpoint address     OTLP endpoint, host:port or URL (default from
                        OTEL_EXPORTER_OTLP_ENDPOINT, else localhost:4317 for
                        grpc, localhost:4318 for http); for collector, jaeger
                        and datadog, the host, with or without a port
                        (default localhost:4317)
  -protocol name        OTLP protocol: grpc (default) or http
  -header key=value     OTLP header, such as an API key; repeatable
  -insecure             send OTLP in plaintext, without TLS

Environment: TRACEPARENT and TRACESTATE (W3C trace context) make the run a
part of that trace; the OTEL_* variables configure OTLP as they do for any
OpenTelemetry SDK (OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_SERVICE_NAME, ...).

Exit status: 0 when the call succeeded; 1 when the guest failed (it trapped,
exited with a non-zero code, returned non-zero or timed out), after printing
its trace; 2 on a usage error or a set-up failure (no such file, not a valid
module, no such export, telemetry not delivered).

Examples:
  extism-observe run testdata/demo.wasm
  extism-observe run -input 3 -min-duration 0 testdata/cguest.wasm spans
  extism-observe run -function-spans '*' -min-duration 0 testdata/plain.wasm run
  extism-observe run -http-server testdata/http.wasm fetch
  extism-observe run -exporter otlp -endpoint localhost:4317 -insecure testdata/demo.wasm
  extism-observe run -exporter jaeger testdata/demo.wasm
`

// exporter names accepted by -exporter: stdout, and the OTLP ones.
const (
	exporterStdout    = "stdout"
	exporterOTLP      = "otlp"
	exporterCollector = "collector"
	exporterJaeger    = "jaeger"
	exporterDatadog   = "datadog"
	exporterHoneycomb = "honeycomb"
	exporterLightstep = "lightstep"
)

// otlpExporters are the -exporter names that send over OTLP.
var otlpExporters = []string{exporterOTLP, exporterCollector, exporterJaeger, exporterDatadog, exporterHoneycomb, exporterLightstep}

// runConfig is what the flags and arguments of run ask for.
type runConfig struct {
	plugin string // path of the .wasm file
	export string // "": chosen by chooseExport

	input     string
	inputFile string
	hasInput  bool // -input was given, even empty

	wasi          bool
	timeout       time.Duration
	minDuration   time.Duration
	functionSpans listFlag
	logLevel      zerolog.Level
	allowHosts    listFlag
	config        headerFlag
	httpServer    bool

	exporter string
	endpoint string
	protocol string // "", "grpc" or "http"
	headers  headerFlag
	insecure bool
}

// parseRunFlags parses the flags and arguments of run. On -h it writes
// runUsage to stdout and returns flag.ErrHelp.
func parseRunFlags(args []string, stdout io.Writer) (*runConfig, error) {
	c := &runConfig{}
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	// Errors are reported by the caller, and help goes to stdout.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}

	fs.StringVar(&c.input, "input", "", "")
	fs.StringVar(&c.inputFile, "input-file", "", "")
	fs.BoolVar(&c.wasi, "wasi", true, "")
	fs.DurationVar(&c.timeout, "timeout", 0, "")
	fs.DurationVar(&c.minDuration, "min-duration", observe.DefaultMinDuration, "")
	fs.Var(&c.functionSpans, "function-spans", "")
	fs.Var(&c.allowHosts, "allow-host", "")
	fs.Var(&c.config, "config", "")
	fs.BoolVar(&c.httpServer, "http-server", false, "")
	logLevel := fs.String("log-level", "info", "")
	fs.StringVar(&c.exporter, "exporter", exporterStdout, "")
	fs.StringVar(&c.endpoint, "endpoint", "", "")
	fs.StringVar(&c.protocol, "protocol", "", "")
	fs.Var(&c.headers, "header", "")
	fs.BoolVar(&c.insecure, "insecure", false, "")

	// The flag package stops at the first argument; parse on after each
	// one, so that flags may also follow PLUGIN.wasm and EXPORT.
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fmt.Fprint(stdout, runUsage)
				return nil, flag.ErrHelp
			}
			return nil, err
		}
		if fs.NArg() == 0 {
			break
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}

	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	c.hasInput = set["input"]

	switch len(positional) {
	case 0:
		return nil, errors.New("missing PLUGIN.wasm")
	case 1, 2:
		c.plugin = positional[0]
		if len(positional) == 2 {
			c.export = positional[1]
		}
	default:
		return nil, fmt.Errorf("too many arguments: %q", positional[2:])
	}
	if c.plugin == "" {
		return nil, errors.New("empty PLUGIN.wasm path")
	}
	if c.httpServer && c.config["http_server_url"] != "" {
		return nil, errors.New("-http-server sets the config key http_server_url: do not give it with -config")
	}
	if c.hasInput && set["input-file"] {
		return nil, errors.New("-input and -input-file are exclusive: give one")
	}
	if c.timeout < 0 {
		return nil, fmt.Errorf("-timeout %v: must not be negative", c.timeout)
	}
	if c.minDuration < 0 {
		return nil, fmt.Errorf("-min-duration %v: must not be negative", c.minDuration)
	}
	lvl, err := parseLogLevel(*logLevel)
	if err != nil {
		return nil, err
	}
	c.logLevel = lvl

	switch {
	case c.exporter == exporterStdout:
		for _, name := range []string{"endpoint", "protocol", "header", "insecure"} {
			if set[name] {
				return nil, fmt.Errorf("-%s is for the OTLP exporters (-exporter otlp, collector, ...)", name)
			}
		}
	case slices.Contains(otlpExporters, c.exporter):
	default:
		return nil, fmt.Errorf("-exporter %q: want stdout, %s", c.exporter, strings.Join(otlpExporters, ", "))
	}
	switch c.protocol {
	case "", "grpc", "http":
	default:
		return nil, fmt.Errorf("-protocol %q: want grpc or http", c.protocol)
	}
	return c, nil
}

// parseLogLevel parses a -log-level value.
func parseLogLevel(s string) (zerolog.Level, error) {
	switch strings.ToLower(s) {
	case "trace":
		return zerolog.TraceLevel, nil
	case "debug":
		return zerolog.DebugLevel, nil
	case "info":
		return zerolog.InfoLevel, nil
	case "warn", "warning":
		return zerolog.WarnLevel, nil
	case "error":
		return zerolog.ErrorLevel, nil
	case "disabled", "off", "none":
		return zerolog.Disabled, nil
	}
	return zerolog.NoLevel, fmt.Errorf("-log-level %q: want trace, debug, info, warn, error or disabled", s)
}

// readInput returns the plugin's input, from -input or -input-file.
func (c *runConfig) readInput() ([]byte, error) {
	if c.inputFile == "" {
		return []byte(c.input), nil
	}
	b, err := os.ReadFile(c.inputFile)
	if err != nil {
		return nil, fmt.Errorf("reading -input-file: %w", err)
	}
	return b, nil
}

// listFlag is a repeatable flag whose values may also be comma-separated.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(s string) error {
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			*l = append(*l, v)
		}
	}
	return nil
}

// headerFlag is a repeatable key=value flag.
type headerFlag map[string]string

func (h *headerFlag) String() string {
	var kv []string
	for k := range *h {
		kv = append(kv, k+"=...")
	}
	return strings.Join(kv, ",")
}

func (h *headerFlag) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	k = strings.TrimSpace(k)
	if !ok || k == "" {
		return errors.New("want key=value")
	}
	if *h == nil {
		*h = headerFlag{}
	}
	(*h)[k] = v
	return nil
}
