package main

import (
	"flag"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/extism-observe/observe"
)

func TestParseRunFlags(t *testing.T) {
	for _, tc := range []struct {
		name  string
		args  []string
		check func(t *testing.T, c *runConfig)
		err   string // substring of the error; "" for none
	}{
		{
			name: "defaults",
			args: []string{"p.wasm"},
			check: func(t *testing.T, c *runConfig) {
				if c.plugin != "p.wasm" || c.export != "" || !c.wasi || c.exporter != exporterStdout ||
					c.minDuration != observe.DefaultMinDuration || c.timeout != 0 ||
					c.logLevel != zerolog.InfoLevel || c.hasInput {
					t.Errorf("defaults: %+v", c)
				}
			},
		},
		{
			name: "export and interleaved flags",
			args: []string{"-wasi=false", "p.wasm", "-timeout", "1.5s", "handle", "-min-duration", "0"},
			check: func(t *testing.T, c *runConfig) {
				if c.plugin != "p.wasm" || c.export != "handle" || c.wasi || c.timeout != 1500*time.Millisecond || c.minDuration != 0 {
					t.Errorf("got %+v", c)
				}
			},
		},
		{
			name: "empty input is input",
			args: []string{"-input", "", "p.wasm"},
			check: func(t *testing.T, c *runConfig) {
				if !c.hasInput || c.input != "" {
					t.Errorf("got hasInput %v input %q", c.hasInput, c.input)
				}
			},
		},
		{
			name: "function spans repeated and comma-separated",
			args: []string{"-function-spans", "a*, b", "-function-spans", "c", "-function-spans", ",", "p.wasm"},
			check: func(t *testing.T, c *runConfig) {
				if want := []string{"a*", "b", "c"}; !slices.Equal(c.functionSpans, want) {
					t.Errorf("function spans %q, want %q", c.functionSpans, want)
				}
			},
		},
		{
			name: "otlp",
			args: []string{"-exporter", "otlp", "-endpoint", "collector:4317", "-protocol", "http", "-insecure",
				"-header", "x-api-key=k=v", "-header", "x-team= blue", "p.wasm"},
			check: func(t *testing.T, c *runConfig) {
				want := map[string]string{"x-api-key": "k=v", "x-team": " blue"}
				if c.exporter != exporterOTLP || c.endpoint != "collector:4317" || c.protocol != "http" || !c.insecure ||
					!maps.Equal(c.headers, headerFlag(want)) {
					t.Errorf("got %+v", c)
				}
			},
		},
		{
			name: "log levels",
			args: []string{"-log-level", "TRACE", "p.wasm"},
			check: func(t *testing.T, c *runConfig) {
				if c.logLevel != zerolog.TraceLevel {
					t.Errorf("level %v", c.logLevel)
				}
			},
		},
		{name: "disabled logs", args: []string{"-log-level", "disabled", "p.wasm"}, check: func(t *testing.T, c *runConfig) {
			if c.logLevel != zerolog.Disabled {
				t.Errorf("level %v", c.logLevel)
			}
		}},
		{
			name: "extism call's flags",
			args: []string{"-i", "hi", "-loop", "3", "-allow-path", "data:/mnt", "-allow-path", "ro:/srv/x:/ro",
				"-link", "lib=lib.wasm", "-link", "env=env.wasm", "-memory-max", "32", "-http-response-max", "0", "-var-max", "10",
				"-manifest", "m.json", "run_test"},
			check: func(t *testing.T, c *runConfig) {
				wantPaths := map[string]string{"data": "/mnt", "ro:/srv/x": "/ro"}
				wantLinks := linkFlag{{"lib", "lib.wasm"}, {"env", "env.wasm"}}
				if c.input != "hi" || !c.hasInput || c.loop != 3 || !maps.Equal(c.allowPaths, allowPathFlag(wantPaths)) ||
					!slices.Equal(c.links, wantLinks) || c.memoryMax != 32 || c.httpResponseMax != 0 || c.varMax != 10 ||
					!c.manifest || c.plugin != "m.json" || c.export != "run_test" {
					t.Errorf("got %+v", c)
				}
			},
		},
		{
			name: "memory limits unset",
			args: []string{"p.wasm"},
			check: func(t *testing.T, c *runConfig) {
				if c.memoryMax != 0 || c.httpResponseMax != -1 || c.varMax != -1 || c.loop != 1 || c.hasTimeout {
					t.Errorf("got %+v", c)
				}
			},
		},
		{
			name: "allow-path without a guest path mounts it where it is",
			args: []string{"-allow-path", "/data", "-allow-path", "ro:/etc/x", "p.wasm"},
			check: func(t *testing.T, c *runConfig) {
				if want := map[string]string{"/data": "/data", "ro:/etc/x": "/etc/x"}; !maps.Equal(c.allowPaths, allowPathFlag(want)) {
					t.Errorf("allowed paths %v", c.allowPaths)
				}
			},
		},
		{name: "timeout in milliseconds", args: []string{"-timeout", "100", "p.wasm"}, check: func(t *testing.T, c *runConfig) {
			if c.timeout != 100*time.Millisecond || !c.hasTimeout {
				t.Errorf("timeout %v", c.timeout)
			}
		}},
		{name: "timeout 0", args: []string{"-timeout", "0", "p.wasm"}, check: func(t *testing.T, c *runConfig) {
			if c.timeout != 0 || !c.hasTimeout {
				t.Errorf("timeout %v, given %v", c.timeout, c.hasTimeout)
			}
		}},
		{name: "stdin", args: []string{"-stdin", "p.wasm"}, check: func(t *testing.T, c *runConfig) {
			if !c.stdin || c.hasInput {
				t.Errorf("got %+v", c)
			}
		}},
		{name: "no manifest", args: []string{"-manifest"}, err: "missing MANIFEST.json"},
		{name: "stdin and input", args: []string{"-stdin", "-i", "x", "p.wasm"}, err: "-i and -stdin are exclusive"},
		{name: "stdin and input file", args: []string{"-stdin", "-input-file", "f", "p.wasm"}, err: "-input-file and -stdin are exclusive"},
		{name: "negative millisecond timeout", args: []string{"-timeout", "-5", "p.wasm"}, err: "-timeout -5ms"},
		{name: "loop 0", args: []string{"-loop", "0", "p.wasm"}, err: "-loop 0: must be at least 1"},
		{name: "memory-max 0", args: []string{"-memory-max", "0", "p.wasm"}, err: "-memory-max 0"},
		{name: "memory-max too big", args: []string{"-memory-max", "70000", "p.wasm"}, err: "at most 65536 pages"},
		{name: "negative var-max", args: []string{"-var-max", "-2", "p.wasm"}, err: "-var-max -2: must not be negative"},
		{name: "negative http-response-max", args: []string{"-http-response-max", "-1", "p.wasm"}, err: "-http-response-max -1"},
		{name: "link without =", args: []string{"-link", "lib.wasm", "p.wasm"}, err: "want name=path.wasm"},
		{name: "link main", args: []string{"-link", "main=x.wasm", "p.wasm"}, err: "main is the plugin itself"},
		{name: "link twice", args: []string{"-link", "a=x.wasm", "-link", "a=y.wasm", "p.wasm"}, err: "a is linked twice"},
		{name: "link extism's namespace", args: []string{"-link", "extism:host/env=x.wasm", "p.wasm"}, err: "Extism's own namespace"},
		{name: "allow-path empty guest", args: []string{"-allow-path", "/data:", "p.wasm"}, err: "want host_dir:guest_dir"},
		{name: "no plugin", args: nil, err: "missing PLUGIN.wasm"},
		{name: "empty plugin", args: []string{""}, err: "empty PLUGIN.wasm"},
		{
			name: "allowed hosts and config",
			args: []string{"-allow-host", "a.example, *.b.example", "-config", "k=v", "-config", "e=", "-http-server", "p.wasm"},
			check: func(t *testing.T, c *runConfig) {
				if want := []string{"a.example", "*.b.example"}; !slices.Equal(c.allowHosts, want) || !c.httpServer ||
					len(c.config) != 2 || c.config["k"] != "v" || c.config["e"] != "" {
					t.Errorf("allowed hosts %q, config %v, http server %v", c.allowHosts, c.config, c.httpServer)
				}
			},
		},
		{name: "http server and its config key", args: []string{"-http-server", "-config", "http_server_url=x", "p.wasm"}, err: "http_server_url"},
		{name: "too many", args: []string{"a", "b", "c"}, err: "too many arguments"},
		{name: "both inputs", args: []string{"-input", "x", "-input-file", "f", "p.wasm"}, err: "exclusive"},
		{name: "negative timeout", args: []string{"-timeout", "-1s", "p.wasm"}, err: "-timeout -1s"},
		{name: "negative min duration", args: []string{"-min-duration", "-1ms", "p.wasm"}, err: "-min-duration"},
		{name: "bad duration", args: []string{"-timeout", "soon", "p.wasm"}, err: "invalid value"},
		{name: "bad log level", args: []string{"-log-level", "loud", "p.wasm"}, err: `-log-level "loud"`},
		{name: "bad exporter", args: []string{"-exporter", "zipkin", "p.wasm"}, err: `-exporter "zipkin": want stdout, otlp, collector, jaeger`},
		{name: "bad protocol", args: []string{"-exporter", "otlp", "-protocol", "udp", "p.wasm"}, err: `-protocol "udp"`},
		{name: "endpoint without otlp", args: []string{"-endpoint", "x:1", "p.wasm"}, err: "-endpoint is for the OTLP exporters"},
		{name: "header without otlp", args: []string{"-header", "a=b", "p.wasm"}, err: "-header is for the OTLP exporters"},
		{name: "header without =", args: []string{"-exporter", "otlp", "-header", "secret", "p.wasm"}, err: "want key=value"},
		{name: "header with empty key", args: []string{"-exporter", "otlp", "-header", "=v", "p.wasm"}, err: "want key=value"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := parseRunFlags(tc.args, io.Discard)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, c)
		})
	}
}

func TestChooseExport(t *testing.T) {
	for _, tc := range []struct {
		name    string
		want    string
		exports []string
		got     string
		err     string
	}{
		{"named", "run", []string{"a", "run"}, "run", ""},
		{"named _initialize", "_initialize", []string{"_initialize", "run"}, "_initialize", ""},
		{"missing", "nope", []string{"a", "b"}, "", `no exported function "nope"; its exported functions: a, b`},
		{"missing, none", "nope", nil, "", "it exports no functions"},
		{"command", "", []string{"_start"}, "_start", ""},
		{"command with its runtime", "", []string{"_start", "__wasm_call_ctors", "malloc"}, "_start", ""},
		{"TinyGo plugin", "", []string{"_start", "asyncify_get_state", "calloc", "free", "malloc", "realloc", "run_test"}, "",
			"exports several functions; name the one to run (extism-observe run m.wasm EXPORT); its exported functions: _start, run_test " +
				"(and its runtime's: asyncify_get_state, calloc, free, malloc, realloc)"},
		{"_start and another", "", []string{"_start", "other"}, "", "its exported functions: _start, other"},
		{"TinyGo plugin, named", "run_test", []string{"_start", "malloc", "run_test"}, "run_test", ""},
		{"TinyGo plugin, _start named", "_start", []string{"_start", "malloc", "run_test"}, "_start", ""},
		{"Haskell", "", []string{"_initialize", "hs_init", "testing"}, "testing", ""},
		{"only one", "", []string{"run"}, "run", ""},
		{"reactor", "", []string{"_initialize", "run"}, "run", ""},
		{"several", "", []string{"a", "b"}, "", "exports several functions; name the one to run (extism-observe run m.wasm EXPORT); its exported functions: a, b"},
		{"none", "", []string{"_initialize"}, "", "exports no function to call"},
		{"only the runtime's", "", []string{"_initialize", "malloc"}, "", "it exports only its runtime's functions: _initialize, malloc"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := chooseExport("m.wasm", tc.want, tc.exports)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil || got != tc.got {
				t.Fatalf("got %q, %v; want %q", got, err, tc.got)
			}
		})
	}
}

// TestUsageIsDocumented keeps doc.go, the -h text and the flags in step.
func TestUsageIsDocumented(t *testing.T) {
	doc, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	var docText strings.Builder
	for _, line := range strings.Split(string(doc), "\n") {
		if s, ok := strings.CutPrefix(line, "//\t"); ok {
			docText.WriteString(s + "\n")
		} else if line == "//" {
			docText.WriteString("\n")
		}
	}
	if !strings.Contains(docText.String(), runUsage) {
		t.Error("doc.go does not repeat runUsage word for word")
	}

	// Every flag that parseRunFlags defines is in the usage, and no other.
	var documented []string
	for _, line := range strings.Split(runUsage, "\n") {
		f, ok := strings.CutPrefix(line, "  -")
		if !ok {
			continue
		}
		// Aliases share a line: "-i, -input string".
		for {
			name, rest, _ := strings.Cut(f, " ")
			alias, isAlias := strings.CutSuffix(name, ",")
			documented = append(documented, alias)
			if f, ok = strings.CutPrefix(rest, "-"); !isAlias || !ok {
				break
			}
		}
	}
	slices.Sort(documented)
	want := []string{"allow-host", "allow-path", "config", "endpoint", "exporter", "function-spans", "header", "http-response-max",
		"http-server", "i", "input", "input-file", "insecure", "link", "log-level", "loop", "manifest", "memory-max", "min-duration",
		"protocol", "stdin", "timeout", "var-max", "wasi"}
	wantLines(t, "flags in runUsage", documented, want)
	var defined []string
	newRunFlagSet(&runConfig{}).VisitAll(func(f *flag.Flag) { defined = append(defined, f.Name) })
	slices.Sort(defined)
	wantLines(t, "flags defined", defined, want)
}
