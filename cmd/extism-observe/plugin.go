package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	extism "github.com/extism/go-sdk"
	"github.com/rs/zerolog"
	"github.com/tetratelabs/wazero"

	"github.com/extism-observe/observe"
)

// wasmMagic starts every binary WebAssembly module.
var wasmMagic = []byte("\x00asm")

// readModule reads the module at path and checks that it is binary wasm,
// so that a wrong file gets a clearer message than the compiler's.
func readModule(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the plugin: %w", err)
	}
	if !bytes.HasPrefix(b, wasmMagic) {
		hint := ""
		if strings.HasSuffix(path, ".wat") || bytes.Contains(b[:min(len(b), 4096)], []byte("(module")) {
			hint = " (it looks like WebAssembly text: compile it first, e.g. with wat2wasm)"
		}
		return nil, fmt.Errorf("%s is not a WebAssembly module%s", path, hint)
	}
	return b, nil
}

// newPlugin compiles and instantiates the module with an observer that
// records into tel and logs to logger. The guest's WASI stdout and stderr
// go to stdout and stderr, and it sees the real clocks, so that its own
// timings and sleeps mean what they say.
func (c *runConfig) newPlugin(ctx context.Context, wasm []byte, tel *telemetry, logger zerolog.Logger, stdout, stderr io.Writer) (*extism.Plugin, error) {
	opts := []observe.Option{
		observe.WithTracerProvider(tel.tp),
		observe.WithMeterProvider(tel.mp),
		observe.WithLogger(logger),
		observe.WithMinDuration(c.minDuration),
		observe.WithPropagator(propagator),
	}
	if tel.lp != nil {
		// -log-level decides what every sink gets: stderr, span events and
		// the OTLP log records.
		opts = append(opts, observe.WithLoggerProvider(minSeverity(tel.lp, c.logLevel)))
	}
	if len(c.functionSpans) > 0 {
		opts = append(opts, observe.WithFunctionSpans(c.functionSpans...))
	}
	obs := observe.New(opts...)

	manifest := extism.Manifest{
		Wasm:         []extism.Wasm{extism.WasmData{Data: wasm}},
		AllowedHosts: c.allowHosts,
		Config:       c.config,
	}
	if c.timeout > 0 {
		// Extism counts in milliseconds; round up, so that a short
		// timeout is not none.
		manifest.Timeout = uint64((c.timeout + time.Millisecond - 1) / time.Millisecond)
	}
	config := extism.PluginConfig{
		EnableWasi: c.wasi,
		ModuleConfig: wazero.NewModuleConfig().
			WithArgs(filepath.Base(c.plugin)).
			WithStdout(stdout).
			WithStderr(stderr).
			WithSysWalltime().
			WithSysNanotime().
			WithSysNanosleep().
			WithRandSource(rand.Reader),
	}
	// The plugin is named after its file, for its call span and metrics.
	name := observe.PluginName(strings.TrimSuffix(filepath.Base(c.plugin), ".wasm"))
	p, err := extism.NewPlugin(obs.Context(ctx, name), manifest, config, obs.HostFunctions())
	if err != nil {
		hint := ""
		if !c.wasi && strings.Contains(err.Error(), "wasi_snapshot_preview1") {
			hint = " (the module imports WASI: leave -wasi on)"
		}
		return nil, fmt.Errorf("%s: cannot load the plugin: %w%s", c.plugin, err, hint)
	}
	// The observer logs what Extism PDK guests log (on by default);
	// the SDK's own copy would print each message a second time.
	p.SetLogger(func(extism.LogLevel, string) {})
	extism.SetLogLevel(extismLevel(c.logLevel))
	return p, nil
}

// exportNames returns the names of the functions p's main module exports,
// sorted.
func exportNames(p *extism.Plugin) []string {
	var names []string
	for name := range p.Module().ExportedFunctions() {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// chooseExport returns the export to call: want when the module has it;
// without want, _start (a WASI command), else the module's only function
// other than _initialize (which Extism runs by itself).
func chooseExport(path, want string, exports []string) (string, error) {
	if want != "" {
		if slices.Contains(exports, want) {
			return want, nil
		}
		return "", fmt.Errorf("%s has no exported function %q; %s", path, want, describeExports(exports))
	}
	if slices.Contains(exports, "_start") {
		return "_start", nil
	}
	candidates := slices.DeleteFunc(slices.Clone(exports), func(s string) bool { return s == "_initialize" })
	switch len(candidates) {
	case 0:
		return "", fmt.Errorf("%s exports no function to call", path)
	case 1:
		return candidates[0], nil
	}
	return "", fmt.Errorf("%s exports several functions; name the one to run (extism-observe run %s EXPORT); %s",
		path, path, describeExports(exports))
}

func describeExports(exports []string) string {
	if len(exports) == 0 {
		return "it exports no functions"
	}
	return "its exported functions: " + strings.Join(exports, ", ")
}
