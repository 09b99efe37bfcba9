package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
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
       extism-observe run -manifest [flags] MANIFEST.json [EXPORT]

Run calls EXPORT of the Extism plugin PLUGIN.wasm, with the Observe API
enabled, and prints the guest's output (its Extism output, and its WASI stdout
and stderr as it writes them), then the trace of the call as a tree, with the
guest's spans, tags and logs, and the values of the metrics it reported.

EXPORT defaults to the module's only exported function, not counting
_initialize and the language runtime's own (malloc, asyncify_*, ...); a module
that exports _start and other functions, as TinyGo plugins do, gets a list of
them to choose from. Flags may come before or after the arguments, and are
named as extism call names them.

Flags:
  -i, -input string     the plugin's input (Extism input)
  -input-file path      read the plugin's input from a file
  -stdin                read the plugin's input from standard input
  -loop n               call EXPORT n times, each call in a trace of its own,
                        then print the calls' durations on stderr (default 1)
  -wasi                 enable WASI (default true; -wasi=false to disable)
  -timeout duration     stop each call after this long and print its trace:
                        a Go duration (1.5s) or a number of milliseconds
                        (default 0: no limit; a limit makes tight loops in
                        the guest slower, as wazero checks for it in them)
  -allow-host host      a host the plugin may send HTTP requests to (the
                        manifest's allowed_hosts; '*' globs); repeatable, or
                        comma-separated
  -allow-path host_dir:guest_dir
                        give the plugin the host directory host_dir at
                        guest_dir (the manifest's allowed_paths); a ro:
                        prefix mounts it read-only; repeatable
  -config key=value     a key of the plugin's config; repeatable
  -link name=path       link the module at path as name, for the plugin's
                        imports from the module name; repeatable
  -manifest             PLUGIN is an Extism JSON manifest, its relative paths
                        taken from its own directory; the flags above add to
                        it, and a flag given overrides its setting
  -memory-max pages     the most memory the plugin may have, in 64 KiB pages
                        (the manifest's memory.max_pages; default no limit)
  -http-response-max bytes
                        the largest HTTP response body the plugin may read
                        (memory.max_http_response_bytes; default 50 MiB)
  -var-max bytes        the most bytes the plugin may keep in Extism vars
                        (memory.max_var_bytes; default 1 MiB)
  -min-duration duration
                        drop function spans shorter than this (default 20µs)
  -function-spans pattern
                        give function spans to the guest functions whose names
                        match the glob pattern ('*' for all); repeatable, or
                        comma-separated
  -http-server          start an HTTP server on 127.0.0.1 for the plugin to
                        call, with a span for each request it gets, so that
                        the trace shows the guest's requests arriving; its
                        URL is the plugin's input when no input is given,
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

Exit status: 0 when every call succeeded; 1 when the guest failed (it trapped,
exited with a non-zero code, returned non-zero or timed out), after printing
its trace; 2 on a usage error or a set-up failure (no such file, not a valid
module, an import not provided, no such export, telemetry not delivered).

Examples:
  extism-observe run testdata/demo.wasm
  extism-observe run -input 3 -min-duration 0 testdata/cguest.wasm spans
  extism-observe run -function-spans '*' -min-duration 0 testdata/plain.wasm run
  extism-observe run -http-server testdata/http.wasm fetch
  echo -n 'hello world' | extism-observe run -stdin -loop 10 count_vowels.wasm
  extism-observe run -link lib=lib.wasm -i benjamin main.wasm run_test
  extism-observe run -manifest -config thing=1 plugin.json run_test
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
	plugin   string // path of the .wasm file, or of the manifest
	manifest bool   // plugin is an Extism JSON manifest
	export   string // "": chosen by chooseExport

	input     string
	inputFile string
	hasInput  bool // -input was given, even empty
	stdin     bool // read the input from standard input
	loop      int

	wasi          bool
	timeout       time.Duration
	hasTimeout    bool // -timeout was given, even 0: it overrides the manifest's
	minDuration   time.Duration
	functionSpans listFlag
	logLevel      zerolog.Level
	allowHosts    listFlag
	allowPaths    allowPathFlag
	config        headerFlag
	links         linkFlag
	httpServer    bool

	// The manifest's memory limits; 0 for memoryMax and -1 for the others
	// when not given.
	memoryMax       uint
	httpResponseMax int64
	varMax          int64

	exporter string
	endpoint string
	protocol string // "", "grpc" or "http"
	headers  headerFlag
	insecure bool
}

// newRunFlagSet defines the flags of run, into c.
func newRunFlagSet(c *runConfig) *flag.FlagSet {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	// Errors are reported by the caller, and help goes to stdout.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}

	fs.StringVar(&c.input, "input", "", "")
	fs.StringVar(&c.input, "i", "", "")
	fs.StringVar(&c.inputFile, "input-file", "", "")
	fs.BoolVar(&c.stdin, "stdin", false, "")
	fs.IntVar(&c.loop, "loop", 1, "")
	fs.BoolVar(&c.wasi, "wasi", true, "")
	fs.Var((*millisFlag)(&c.timeout), "timeout", "")
	fs.DurationVar(&c.minDuration, "min-duration", observe.DefaultMinDuration, "")
	fs.Var(&c.functionSpans, "function-spans", "")
	fs.Var(&c.allowHosts, "allow-host", "")
	fs.Var(&c.allowPaths, "allow-path", "")
	fs.Var(&c.config, "config", "")
	fs.Var(&c.links, "link", "")
	fs.BoolVar(&c.manifest, "manifest", false, "")
	fs.UintVar(&c.memoryMax, "memory-max", 0, "")
	fs.Int64Var(&c.httpResponseMax, "http-response-max", -1, "")
	fs.Int64Var(&c.varMax, "var-max", -1, "")
	fs.BoolVar(&c.httpServer, "http-server", false, "")
	fs.String("log-level", "info", "")
	fs.StringVar(&c.exporter, "exporter", exporterStdout, "")
	fs.StringVar(&c.endpoint, "endpoint", "", "")
	fs.StringVar(&c.protocol, "protocol", "", "")
	fs.Var(&c.headers, "header", "")
	fs.BoolVar(&c.insecure, "insecure", false, "")
	return fs
}

// parseRunFlags parses the flags and arguments of run. On -h it writes
// runUsage to stdout and returns flag.ErrHelp.
func parseRunFlags(args []string, stdout io.Writer) (*runConfig, error) {
	c := &runConfig{}
	fs := newRunFlagSet(c)

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
	c.hasInput = set["input"] || set["i"]
	c.hasTimeout = set["timeout"]

	what := "PLUGIN.wasm"
	if c.manifest {
		what = "MANIFEST.json"
	}
	switch len(positional) {
	case 0:
		return nil, errors.New("missing " + what)
	case 1, 2:
		c.plugin = positional[0]
		if len(positional) == 2 {
			c.export = positional[1]
		}
	default:
		return nil, fmt.Errorf("too many arguments: %q", positional[2:])
	}
	if c.plugin == "" {
		return nil, errors.New("empty " + what + " path")
	}
	if c.httpServer && c.config["http_server_url"] != "" {
		return nil, errors.New("-http-server sets the config key http_server_url: do not give it with -config")
	}
	var inputs []string
	for _, name := range []string{"input", "i", "input-file", "stdin"} {
		if set[name] && (name != "stdin" || c.stdin) {
			inputs = append(inputs, "-"+name)
		}
	}
	if len(inputs) > 1 {
		return nil, fmt.Errorf("%s are exclusive: give one", strings.Join(inputs, " and "))
	}
	if c.loop < 1 {
		return nil, fmt.Errorf("-loop %d: must be at least 1", c.loop)
	}
	if c.timeout < 0 {
		return nil, fmt.Errorf("-timeout %v: must not be negative", c.timeout)
	}
	if c.minDuration < 0 {
		return nil, fmt.Errorf("-min-duration %v: must not be negative", c.minDuration)
	}
	if c.memoryMax > 65536 {
		return nil, fmt.Errorf("-memory-max %d: a 32-bit memory has at most 65536 pages (4 GiB)", c.memoryMax)
	}
	if set["memory-max"] && c.memoryMax == 0 {
		return nil, errors.New("-memory-max 0: give at least 1 page (leave it out for no limit)")
	}
	for _, name := range []string{"http-response-max", "var-max"} {
		if v := fs.Lookup(name).Value.String(); set[name] && strings.HasPrefix(v, "-") {
			return nil, fmt.Errorf("-%s %s: must not be negative", name, v)
		}
	}
	lvl, err := parseLogLevel(fs.Lookup("log-level").Value.String())
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

// readInput returns the plugin's input, from -input, -input-file or
// -stdin.
func (c *runConfig) readInput(stdin io.Reader) ([]byte, error) {
	switch {
	case c.stdin:
		if stdin == nil {
			return nil, nil
		}
		b, err := io.ReadAll(stdin)
		if err != nil {
			return nil, fmt.Errorf("reading -stdin: %w", err)
		}
		return b, nil
	case c.inputFile != "":
		b, err := os.ReadFile(c.inputFile)
		if err != nil {
			return nil, fmt.Errorf("reading -input-file: %w", err)
		}
		return b, nil
	}
	return []byte(c.input), nil
}

// millisFlag is a duration flag that also takes, as extism call does, a
// plain number of milliseconds.
type millisFlag time.Duration

func (m *millisFlag) String() string { return time.Duration(*m).String() }

func (m *millisFlag) Set(s string) error {
	if ms, err := strconv.ParseInt(s, 10, 64); err == nil {
		*m = millisFlag(time.Duration(ms) * time.Millisecond)
		return nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return errors.New("want a duration (1.5s, 100ms) or a number of milliseconds")
	}
	*m = millisFlag(d)
	return nil
}

// allowPathFlag is the repeatable -allow-path HOST:GUEST, keyed as
// Manifest.AllowedPaths is: the host directory, "ro:" first when it is
// mounted read-only.
type allowPathFlag map[string]string

func (a *allowPathFlag) String() string {
	var kv []string
	for k, v := range *a {
		kv = append(kv, k+":"+v)
	}
	slices.Sort(kv)
	return strings.Join(kv, ",")
}

func (a *allowPathFlag) Set(s string) error {
	rest, ro := strings.CutPrefix(s, "ro:")
	// The guest's path is after the last colon: a host path may have one
	// (C:\data on Windows), a guest path is a plain POSIX path.
	host, guest := rest, rest
	if i := strings.LastIndex(rest, ":"); i >= 0 {
		host, guest = rest[:i], rest[i+1:]
	}
	if host == "" || guest == "" {
		return errors.New("want host_dir:guest_dir, or ro:host_dir:guest_dir")
	}
	if ro {
		host = "ro:" + host
	}
	if *a == nil {
		*a = allowPathFlag{}
	}
	(*a)[host] = guest
	return nil
}

// link is one -link: a module that the plugin imports from by name.
type link struct{ name, path string }

// linkFlag is the repeatable -link NAME=PATH, in the order given.
type linkFlag []link

func (l *linkFlag) String() string {
	var s []string
	for _, k := range *l {
		s = append(s, k.name+"="+k.path)
	}
	return strings.Join(s, ",")
}

func (l *linkFlag) Set(s string) error {
	name, path, ok := strings.Cut(s, "=")
	name = strings.TrimSpace(name)
	if !ok || name == "" || path == "" {
		return errors.New("want name=path.wasm")
	}
	switch {
	case name == "main":
		return errors.New("main is the plugin itself (PLUGIN.wasm): link other modules")
	case name == "extism:host/env":
		return errors.New("extism:host/env is Extism's own namespace: link modules under other names")
	case slices.ContainsFunc(*l, func(k link) bool { return k.name == name }):
		return fmt.Errorf("%s is linked twice", name)
	}
	*l = append(*l, link{name, path})
	return nil
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
