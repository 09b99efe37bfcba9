package observe

import (
	"context"
	"reflect"
	"runtime"
	"strings"

	"github.com/tetratelabs/wazero/experimental"
	"go.opentelemetry.io/otel/trace"
)

// Context returns a ctx to create plugins with: pass it to
// extism.NewPlugin or extism.NewCompiledPlugin. Through it the Observer
// watches the guest modules as wazero compiles them, which tells it where
// each plugin call starts and ends, which module reports what, and the
// names of the module's functions. CompiledPlugin.Instance needs nothing:
// its instances are observed because the CompiledPlugin was.
//
// The ctx given to CallWithContext is separate: its span becomes the parent
// of the call's span.
//
// # Your own listeners
//
// Context keeps a wazero function listener factory already in ctx
// ([experimental.WithFunctionListenerFactory]): the app's listeners keep
// working, beside the Observer's. Call Context on the ctx that already
// holds yours, not the other way round: a factory set on top of Context's
// ctx hides the Observer's.
//
// # Shared compilation caches
//
// Plugins created with a wazero CompilationCache in PluginConfig.RuntimeConfig
// work as any other, each reporting to the Observer whose Context created
// it. wazero keeps code for every host module compiled with a function
// listener factory in its ctx, for as long as the cache lives; so that
// creating plugins stays flat in time and memory, Context shows the
// Observer's factory only to the guest's modules, not to host modules.
// The exception is [WithHostFunctionSpans], which needs the app's host
// modules: wazero then keeps a few KB of code, and a few executable
// mappings, for each plugin created with the cache, until the cache is
// closed. Extism logs and HTTP spans need no host module listener.
//
// # Plugin names
//
// Every call span and call metric names its plugin (extism.plugin.name):
// by default the module's name from its name section, else a stable name
// made from the module's contents ("wasm-" and 12 hex digits). Name it
// yourself with [PluginName]: observe.Context(ctx, observe.PluginName("checkout")).
// The name belongs to what the ctx compiles, so a CompiledPlugin's
// instances share it, also with a shared compilation cache. Names go on
// metrics as attributes: keep them few, one per plugin, never one per
// instance or request.
func (o *Observer) Context(ctx context.Context, opts ...ContextOption) context.Context {
	c := &compileContext{Context: ctx, obs: o}
	for _, opt := range opts {
		opt.applyContext(c)
	}
	return c
}

// Context returns the ctx of the [Default] Observer; see [Observer.Context].
func Context(ctx context.Context, opts ...ContextOption) context.Context {
	return Default().Context(ctx, opts...)
}

// ContextOption configures what [Observer.Context] compiles.
type ContextOption interface {
	applyContext(*compileContext)
}

type contextOptionFunc func(*compileContext)

func (f contextOptionFunc) applyContext(c *compileContext) { f(c) }

// PluginName names the plugins created with the ctx, for their call spans
// and metrics (extism.plugin.name). An empty name keeps the default; see
// "Plugin names" at [Observer.Context].
func PluginName(name string) ContextOption {
	return contextOptionFunc(func(c *compileContext) { c.name = name })
}

// ListenerFactory returns the wazero function listener factory of the
// Observer, for apps that install factories themselves (with
// [experimental.MultiFunctionListenerFactory], say) rather than through
// [Observer.Context]. Installed that way it is also consulted for host
// modules; see "Shared compilation caches" at [Observer.Context].
func (o *Observer) ListenerFactory() experimental.FunctionListenerFactory {
	return &listenerFactory{obs: o}
}

// compileContext is the ctx of Observer.Context. It answers wazero's
// lookup of the function listener factory, which wazero makes once for
// each module it compiles, and passes every other lookup on.
type compileContext struct {
	context.Context
	obs  *Observer
	name string // PluginName, or ""
}

func (c *compileContext) Value(key any) any {
	if !isFactoryKey(key) {
		return c.Context.Value(key)
	}
	app, _ := c.Context.Value(key).(experimental.FunctionListenerFactory)
	var ours experimental.FunctionListenerFactory
	if c.obs.hostListeners() || !compilingHostModule() {
		ours = &listenerFactory{obs: c.obs, name: c.name}
	}
	switch {
	case app == nil && ours == nil:
		return nil // an untyped nil: wazero then compiles without listeners
	case app == nil:
		return ours
	case ours == nil:
		return app
	}
	return experimental.MultiFunctionListenerFactory(app, ours)
}

// hostListeners reports whether the Observer needs listeners on host
// modules: on the app's, for WithHostFunctionSpans.
func (o *Observer) hostListeners() bool {
	return len(o.hostFunctionSpans) > 0
}

// isFactoryKey reports whether key is the ctx key of wazero's function
// listener factory. Its type is internal to wazero, so it is known by name.
func isFactoryKey(key any) bool {
	t := reflect.TypeOf(key)
	return t != nil && t.Name() == "FunctionListenerFactoryKey" &&
		t.PkgPath() == "github.com/tetratelabs/wazero/internal/expctxkeys"
}

// compilingHostModule reports whether the factory lookup in progress is
// wazero compiling a host module (HostModuleBuilder.Compile, which Extism
// uses for its own, WASI's and the app's host functions), as opposed to a
// guest module (Runtime.CompileModule). Nothing in the lookup says which,
// so the stack does; when it cannot tell, it says guest, and host modules
// get the Observer's factory, which costs memory with a shared cache but
// loses nothing.
func compilingHostModule() bool {
	var pcs [24]uintptr
	n := runtime.Callers(3, pcs[:]) // from the caller of compileContext.Value
	frames := runtime.CallersFrames(pcs[:n])
	for {
		f, more := frames.Next()
		if rest, ok := strings.CutPrefix(f.Function, "github.com/tetratelabs/wazero."); ok {
			switch rest {
			case "(*hostModuleBuilder).Compile":
				return true
			case "(*runtime).CompileModule":
				return false
			}
		}
		if !more {
			return false
		}
	}
}

// SpanFromContext returns the innermost open guest span of the plugin call
// that ctx belongs to, or the call's span when the guest has none open.
// A function span that [WithMinDuration] may yet drop is not started until
// it ends, nor a manual span opened in a function span until its place is
// known (see the README, "Automatic instrumentation"), so inside one
// SpanFromContext returns the nearest span already started.
// Call it from a host function (the app's own included) while a plugin
// runs, to start child spans or to propagate the trace on outbound
// requests: trace.ContextWithSpan(ctx, observe.SpanFromContext(ctx)).
// Outside a plugin call it returns trace.SpanFromContext(ctx). In a call
// that records nothing (a silent call, or any call of a plugin of an
// Observer made with every provider a no-op one; see the README, "Turning
// it off without a second build") it returns a span that records nothing,
// with the caller's span context, as the no-op tracer's span would be.
//
// The span belongs to the call: use it on the call's goroutine, and not
// after the host function returns.
func SpanFromContext(ctx context.Context) trace.Span {
	key, c := pluginCall(ctx)
	switch {
	case c == nil:
		if key != nil && inertObserver(key) != nil {
			return &quietSpan{sc: trace.SpanContextFromContext(ctx)} // as a silent call
		}
		return trace.SpanFromContext(ctx)
	case c.silent:
		// What the no-op tracer gives: the caller's span context,
		// recording nothing.
		return &quietSpan{sc: trace.SpanContextFromContext(c.ctx)}
	}
	_, span := c.live()
	if q, ok := span.(*quietSpan); ok {
		// The call's own, reused by the next call: a copy is safe to keep.
		kept := *q
		return &kept
	}
	return span
}
