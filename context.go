package observe

import (
	"context"

	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
	"go.opentelemetry.io/otel/trace"
)

// Context returns a ctx to create plugins with: pass it to
// extism.NewPlugin, extism.NewCompiledPlugin (and CompiledPlugin.Instance).
// Through it the Observer watches the modules as they are compiled, which
// lets it read the memory of the guest that calls an Observe API function,
// and see where each plugin call starts and ends.
//
// The ctx given to CallWithContext is separate: its span becomes the parent
// of the call's span.
//
// Context sets a wazero function listener factory
// ([experimental.WithFunctionListenerFactory]) and so replaces one already
// in ctx; combine both with [experimental.MultiFunctionListenerFactory] and
// [Observer.ListenerFactory] if you need another.
func (o *Observer) Context(ctx context.Context) context.Context {
	return experimental.WithFunctionListenerFactory(ctx, o.ListenerFactory())
}

// Context returns the ctx of the [Default] Observer; see [Observer.Context].
func Context(ctx context.Context) context.Context { return Default().Context(ctx) }

// ListenerFactory returns the wazero function listener factory that
// [Observer.Context] installs, for apps that combine it with their own.
func (o *Observer) ListenerFactory() experimental.FunctionListenerFactory {
	return (*listenerFactory)(o)
}

type listenerFactory Observer

// NewFunctionListener attaches a listener to each Observe API host function,
// to do its work, to each exported guest function, to see calls start and
// end, and to the functions WithFunctionSpans picks. Every other function
// runs without one, at full speed.
func (f *listenerFactory) NewFunctionListener(def api.FunctionDefinition) experimental.FunctionListener {
	o := (*Observer)(f)
	if def.GoFunction() != nil {
		if fn, ok := hostFuncIndex[[2]string{def.ModuleName(), def.Name()}]; ok {
			return &hostListener{obs: o, fn: fn}
		}
		if o.extismLogs && def.ModuleName() == extismEnv {
			if level, ok := extismLogLevels[def.Name()]; ok {
				return &extismLogListener{level: level}
			}
		}
		return nil
	}
	// Only an export without parameters can start a plugin call: Extism
	// calls exports with none. Leaving the others without a listener spares
	// the Extism kernel's own exports (alloc, load_u8, ...), which are
	// called all through every plugin call, and often per byte.
	if names := def.ExportNames(); len(names) > 0 && len(def.ParamTypes()) == 0 {
		return &exportListener{obs: o, name: names[0], spanName: o.functionSpanName(def)}
	}
	if name := o.functionSpanName(def); name != "" {
		return &functionListener{name: name}
	}
	return nil
}

// SpanFromContext returns the innermost open guest span of the plugin call
// that ctx belongs to, or the call's span when the guest has none open.
// A function span that [WithMinDuration] may yet drop is not started until
// it ends, so inside one SpanFromContext returns the nearest span already
// started.
// Call it from a host function (the app's own included) while a plugin
// runs, to start child spans or to propagate the trace on outbound
// requests: trace.ContextWithSpan(ctx, observe.SpanFromContext(ctx)).
// Outside a plugin call it returns trace.SpanFromContext(ctx).
//
// The span belongs to the call: use it on the call's goroutine, and not
// after the host function returns.
func SpanFromContext(ctx context.Context) trace.Span {
	if c := lookupCall(ctx); c != nil {
		_, span := c.live()
		return span
	}
	return trace.SpanFromContext(ctx)
}
