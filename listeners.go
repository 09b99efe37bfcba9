package observe

// The wazero function listeners of an Observer, and the factory that
// attaches them, in one place: which wazero hook each listens to and what
// it does.
//
//   - exportListener, on the exports of guest modules: where each plugin
//     call starts and ends (call.go), and calls into linked modules.
//   - functionListener, on the functions WithFunctionSpans picks: a
//     function span per call.
//   - hostFunctionListener, on the app's host functions that
//     WithHostFunctionSpans picks: a span per call.
//
// The Observe API's host functions need no listener: their Extism
// callbacks do the work (observeapi.go).

import (
	"context"

	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"

	"github.com/extism-observe/observe/internal/names"
)

// listenerFactory is an Observer's wazero function listener factory, for
// the modules one ctx compiles; name is their PluginName, or "".
type listenerFactory struct {
	obs  *Observer
	name string
}

// NewFunctionListener learns each function of a guest module and attaches
// a listener to each export that can start a plugin call, to see calls
// start and end, and to the functions WithFunctionSpans picks. Every other
// function runs without one, at full speed. Of host functions, only the
// app's that WithHostFunctionSpans picks get one.
//
// The listeners hold no state of their own: with a shared compilation
// cache, those of the first compile serve every later plugin of the same
// bytes, whichever Observer created it. See module.
func (f *listenerFactory) NewFunctionListener(def api.FunctionDefinition) experimental.FunctionListener {
	o := f.obs
	if fn := def.GoFunction(); fn != nil {
		// The app's host functions are the Extism SDK's plain Go functions
		// (api.GoFunction) outside the Observe API; its own env module and
		// the proxies of linked modules are api.GoModuleFunction.
		if _, app := fn.(api.GoFunction); app && !o.inert && !observeNamespaces[def.ModuleName()] && o.hostFunctionSpan(def.Name()) {
			return &hostFunctionListener{name: owned(def.Name()), namespace: owned(def.ModuleName())}
		}
		return nil
	}
	mod := o.learn(def, f.name)
	if o.inert {
		return nil // nothing to listen for (inert.go); learnt for inertObserver
	}
	// Only an export without parameters can start a plugin call: Extism
	// calls exports with none. Leaving the others without a listener spares
	// the Extism kernel's own exports (alloc, load_u8, ...), which are
	// called all through every plugin call, and often per byte.
	if len(def.ExportNames()) > 0 && len(def.ParamTypes()) == 0 {
		return exportListener{}
	}
	if mod != nil && mod.spanName(def.Index()) != "" {
		return functionListener{}
	}
	return nil
}

// functionSpanName returns the span name of a guest function when it
// matches a WithFunctionSpans pattern, else "".
func (o *Observer) functionSpanName(def api.FunctionDefinition) string {
	if len(o.functionSpans) == 0 {
		return ""
	}
	name := names.Display(def.Name())
	if name == "" {
		name = names.Fallback(def.Index())
	}
	for _, p := range o.functionSpans {
		if names.Match(p, name) || (def.Name() != "" && names.Match(p, def.Name())) {
			return name
		}
	}
	return ""
}

// exportListener watches the exported functions of guest modules, to see
// where each plugin call starts and ends. It holds nothing: the module a
// function belongs to, and so the Observer, is found from its definition.
type exportListener struct{}

var _ experimental.FunctionListener = exportListener{}

func (exportListener) Before(ctx context.Context, mod api.Module, def api.FunctionDefinition, _ []uint64, _ experimental.StackIterator) {
	// The Extism kernel is compiled with the same ctx, so its exports have
	// listeners too; its instances are the only unnamed ones.
	if mod.Name() == "" {
		return
	}
	p, c := pluginCall(ctx)
	if p == nil {
		return // not called through Extism
	}
	if c != nil {
		if c.ctx == ctx {
			if c.initialized {
				c.resume(def) // the export the app called, after the initialisation
				return
			}
			c.enterExport(mod, def)
			return
		}
		// A call that never saw its After or Abort: end it rather than
		// let it swallow this one.
		c.unregister(p)
		c.finish(nil, nil, errAbandoned)
		c.release()
	}
	info := moduleOf(mod, def)
	if info == nil {
		return // compiled without an Observer's Context
	}
	c = info.obs.startCall(ctx, p, mod, info, def.ExportNames()[0])
	if !c.silent && isRuntimeInit(def) {
		// The initialisation is a span of its own, in the call span. A
		// silent call has no spans: the initialisation's end ends it, and
		// the export that follows starts another.
		c.initializing, c.initFn = true, def.Index()
		c.functionEnter(def.Index(), c.function)
	}
	c.register(p)
}

func (exportListener) After(ctx context.Context, mod api.Module, def api.FunctionDefinition, results []uint64) {
	end(ctx, mod, def, results, nil)
}

func (exportListener) Abort(ctx context.Context, mod api.Module, def api.FunctionDefinition, err error) {
	end(ctx, mod, def, nil, err)
}

func end(ctx context.Context, mod api.Module, def api.FunctionDefinition, results []uint64, err error) {
	if mod.Name() == "" {
		return
	}
	p, c := pluginCall(ctx)
	if c == nil || c.ctx != ctx {
		return
	}
	if c.depth > 0 {
		c.exitExport(def, err)
		return
	}
	if c.initializing && err == nil {
		c.initializing, c.initialized = false, true
		c.endInit()
		return
	}
	c.unregister(p)
	c.finish(def, results, err)
	c.release()
}

// enterExport is a call of an export of mod from within the call: of
// another module of the manifest, through Extism's linking, or of the same
// one.
func (c *call) enterExport(mod api.Module, def api.FunctionDefinition) {
	c.depth++
	if c.silent {
		return // only its end is to be found
	}
	c.modules = append(c.modules, moduleFrame{c.mod, c.info})
	c.mod = mod
	if info := moduleOf(mod, def); info != nil {
		c.info = info
		if name := info.spanName(def.Index()); name != "" {
			c.functionEnter(def.Index(), name)
		}
	}
}

func (c *call) exitExport(def api.FunctionDefinition, err error) {
	c.depth--
	if c.silent {
		return
	}
	if c.info != nil && c.info.spanName(def.Index()) != "" {
		c.functionExit(def.Index(), failure(err))
	}
	if n := len(c.modules); n > 0 {
		c.mod, c.info = c.modules[n-1].mod, c.modules[n-1].info
		c.modules[n-1] = moduleFrame{}
		c.modules = c.modules[:n-1]
	}
}

// functionListener gives a span to each call of a guest function picked by
// WithFunctionSpans.
type functionListener struct{}

var _ experimental.FunctionListener = functionListener{}

func (functionListener) Before(ctx context.Context, mod api.Module, def api.FunctionDefinition, _ []uint64, _ experimental.StackIterator) {
	c := lookupCall(ctx)
	if c == nil || !c.recording {
		// functionEnter would do nothing: spare finding the module, which a
		// silent call, holding none, would look up on every call.
		return
	}
	info := c.info
	if mod != c.mod {
		info = moduleOf(mod, def)
	}
	if info != nil {
		if name := info.spanName(def.Index()); name != "" {
			c.functionEnter(def.Index(), name)
		}
	}
}

func (functionListener) After(ctx context.Context, _ api.Module, def api.FunctionDefinition, _ []uint64) {
	if c := lookupCall(ctx); c != nil {
		c.functionExit(def.Index(), nil)
	}
}

func (functionListener) Abort(ctx context.Context, _ api.Module, def api.FunctionDefinition, err error) {
	if c := lookupCall(ctx); c != nil {
		c.functionExit(def.Index(), failure(err))
	}
}

// hostFunctionSpan reports whether WithHostFunctionSpans picks the app's
// host function name.
func (o *Observer) hostFunctionSpan(name string) bool {
	for _, p := range o.hostFunctionSpans {
		if names.Match(p, name) {
			return true
		}
	}
	return false
}

// hostFunctionListener gives a span to each call of one of the app's host
// functions that WithHostFunctionSpans picks.
type hostFunctionListener struct {
	name, namespace string
}

var _ experimental.FunctionListener = (*hostFunctionListener)(nil)

func (l *hostFunctionListener) Before(ctx context.Context, _ api.Module, _ api.FunctionDefinition, _ []uint64, _ experimental.StackIterator) {
	if c := lookupCall(ctx); c != nil && c.recording {
		c.spans.enterHost(l.name, l.namespace)
	}
}

func (l *hostFunctionListener) After(ctx context.Context, _ api.Module, _ api.FunctionDefinition, _ []uint64) {
	if c := lookupCall(ctx); c != nil && c.recording {
		c.spans.exitHost(nil)
	}
}

func (l *hostFunctionListener) Abort(ctx context.Context, _ api.Module, _ api.FunctionDefinition, err error) {
	if c := lookupCall(ctx); c != nil && c.recording {
		c.spans.exitHost(err)
	}
}
