package main

import (
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
		{"command", "", []string{"_start", "other"}, "_start", ""},
		{"only one", "", []string{"run"}, "run", ""},
		{"reactor", "", []string{"_initialize", "run"}, "run", ""},
		{"several", "", []string{"a", "b"}, "", "exports several functions; name the one to run (extism-observe run m.wasm EXPORT); its exported functions: a, b"},
		{"none", "", []string{"_initialize"}, "", "exports no function to call"},
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
		if f, ok := strings.CutPrefix(line, "  -"); ok {
			name, _, _ := strings.Cut(f, " ")
			documented = append(documented, name)
		}
	}
	slices.Sort(documented)
	want := []string{"allow-host", "config", "endpoint", "exporter", "function-spans", "header", "http-server", "input", "input-file", "insecure",
		"log-level", "min-duration", "protocol", "timeout", "wasi"}
	wantLines(t, "flags in runUsage", documented, want)
	for _, name := range want {
		_, err := parseRunFlags([]string{"-" + name + "=x", "p.wasm"}, io.Discard)
		if err != nil && strings.Contains(err.Error(), "not defined") {
			t.Errorf("flag -%s is documented but not defined", name)
		}
	}
}
