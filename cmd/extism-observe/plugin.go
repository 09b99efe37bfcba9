package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	extism "github.com/extism/go-sdk"
	"github.com/rs/zerolog"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/sys"

	"github.com/extism-observe/observe"
)

// compilationCache is the compilation cache of every plugin the process
// creates: a run compiles its modules once, and a process that runs many
// (the tests run the command in-process) compiles each module once.
var compilationCache = sync.OnceValue(wazero.NewCompilationCache)

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
		switch head := bytes.TrimSpace(b[:min(len(b), 4096)]); {
		case strings.HasSuffix(path, ".wat") || bytes.Contains(head, []byte("(module")):
			hint = " (it looks like WebAssembly text: compile it first, e.g. with wat2wasm)"
		case bytes.HasPrefix(head, []byte("{")):
			hint = " (it looks like JSON: for an Extism manifest, add -manifest)"
		}
		return nil, fmt.Errorf("%s is not a WebAssembly module%s", path, hint)
	}
	return b, nil
}

// plugin is the plugin of a run: compiled once, and instantiated again
// when a call has closed its instance (a WASI command that exited, a
// timeout), so that -loop calls a live one each time.
type plugin struct {
	compiled *extism.CompiledPlugin
	config   extism.PluginInstanceConfig
	logLevel zerolog.Level
	inst     *extism.Plugin
	stale    bool // the last call closed inst
	n        int  // instances made
}

// newPlugin compiles and instantiates the plugin of manifest with an
// observer that records into tel and logs to logger. The guest's WASI
// stdout and stderr go to stdout and stderr, and it sees the real clocks,
// so that its own timings and sleeps mean what they say.
func (c *runConfig) newPlugin(ctx context.Context, manifest extism.Manifest, mods []module, tel *telemetry, logger zerolog.Logger, stdout, stderr io.Writer) (*plugin, error) {
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
	funcs := obs.HostFunctions()

	// The plugin is named after its file, for its call span and metrics.
	name := observe.PluginName(pluginName(c.plugin))
	config := extism.PluginConfig{
		EnableWasi:    c.wasi,
		RuntimeConfig: wazero.NewRuntimeConfig().WithCompilationCache(compilationCache()),
	}
	compiled, err := extism.NewCompiledPlugin(obs.Context(ctx, name), manifest, config, funcs)
	if err != nil {
		return nil, c.loadError(err, mods, funcs)
	}
	p := &plugin{
		compiled: compiled,
		logLevel: c.logLevel,
		config: extism.PluginInstanceConfig{
			ModuleConfig: wazero.NewModuleConfig().
				WithArgs(filepath.Base(c.plugin)).
				WithStdout(stdout).
				WithStderr(stderr).
				WithSysWalltime().
				WithSysNanotime().
				WithSysNanosleep().
				WithRandSource(rand.Reader),
		},
	}
	if _, err := p.instance(ctx); err != nil {
		_ = compiled.Close(context.WithoutCancel(ctx))
		return nil, c.loadError(err, mods, funcs)
	}
	return p, nil
}

// loadError is the error of a plugin that did not load, with a hint when
// the reason is one the user can act on.
func (c *runConfig) loadError(err error, mods []module, funcs []extism.HostFunction) error {
	err = fmt.Errorf("%s: cannot load the plugin: %w", c.plugin, err)
	switch msg := err.Error(); {
	case !c.wasi && strings.Contains(msg, "wasi_snapshot_preview1"):
		return hinted{err, "the module imports WASI: leave -wasi on"}
	case c.memoryMax > 0 && memoryHint(err, c.memoryMax) != "":
		return hinted{err, memoryHint(err, c.memoryMax)}
	}
	if hint := importHint(err, mods, funcs, c.links); hint != "" {
		return hinted{err, hint}
	}
	return err
}

// instance returns the instance to call: the last one, unless its module
// was closed.
func (p *plugin) instance(ctx context.Context) (*extism.Plugin, error) {
	if p.inst != nil && !p.stale {
		return p.inst, nil
	}
	if p.inst != nil {
		_ = p.inst.Close(context.WithoutCancel(ctx))
		p.inst = nil
	}
	inst, err := p.compiled.Instance(ctx, p.config)
	if err != nil {
		return nil, err
	}
	// The observer logs what Extism PDK guests log (on by default);
	// the SDK's own copy would print each message a second time.
	inst.SetLogger(func(extism.LogLevel, string) {})
	extism.SetLogLevel(extismLevel(p.logLevel))
	p.inst, p.stale, p.n = inst, false, p.n+1
	return inst, nil
}

// called records how a call of export ended: an exit (even with code 0,
// which the SDK reports as no error) or a timeout closes the module.
func (p *plugin) called(export string, err error) {
	var exit *sys.ExitError
	if export == "_start" || errors.As(err, &exit) {
		p.stale = true
	}
}

// Close closes the instance and the compiled plugin.
func (p *plugin) Close(ctx context.Context) {
	if p.inst != nil {
		_ = p.inst.Close(ctx)
	}
	_ = p.compiled.Close(ctx)
}

// pluginName names the plugin after its file, without .wasm (or .json for
// a manifest).
func pluginName(path string) string {
	base := filepath.Base(path)
	for _, ext := range []string{".wasm", ".json"} {
		base = strings.TrimSuffix(base, ext)
	}
	return base
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
// without want, the module's only callable export. That may be _start (a
// WASI command); but TinyGo's plugins export _start beside their handlers,
// so _start among other exports is not taken for the one meant: the user
// is asked to choose.
func chooseExport(path, want string, exports []string) (string, error) {
	if want != "" {
		if slices.Contains(exports, want) {
			return want, nil
		}
		return "", fmt.Errorf("%s has no exported function %q; %s", path, want, describeExports(exports))
	}
	candidates := slices.DeleteFunc(slices.Clone(exports), runtimeExport)
	switch len(candidates) {
	case 0:
		return "", fmt.Errorf("%s exports no function to call; %s", path, describeExports(exports))
	case 1:
		return candidates[0], nil
	}
	return "", fmt.Errorf("%s exports several functions; name the one to run (extism-observe run %s EXPORT); %s",
		path, path, describeExports(exports))
}

// runtimeExport reports whether an export belongs to the guest's language
// runtime or to Extism rather than to the plugin's own functions:
// _initialize (which Extism runs by itself), the allocator and TinyGo's
// asyncify exports, and the toolchains' __ names.
func runtimeExport(name string) bool {
	switch name {
	case "_initialize", "malloc", "free", "calloc", "realloc", "cabi_realloc", "hs_init":
		return true
	}
	return strings.HasPrefix(name, "asyncify_") || strings.HasPrefix(name, "__")
}

// describeExports lists the plugin's own exports first, then the runtime's.
func describeExports(exports []string) string {
	if len(exports) == 0 {
		return "it exports no functions"
	}
	own := slices.DeleteFunc(slices.Clone(exports), runtimeExport)
	rt := slices.DeleteFunc(slices.Clone(exports), func(s string) bool { return !runtimeExport(s) })
	switch {
	case len(own) == 0:
		return "it exports only its runtime's functions: " + strings.Join(rt, ", ")
	case len(rt) == 0:
		return "its exported functions: " + strings.Join(own, ", ")
	}
	return "its exported functions: " + strings.Join(own, ", ") + " (and its runtime's: " + strings.Join(rt, ", ") + ")"
}
