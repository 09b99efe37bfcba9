package observe

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	extism "github.com/extism/go-sdk"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/sys"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// Attributes of the span of a plugin call.
const (
	// AttrFunction is the name of the export the call ran.
	AttrFunction = attribute.Key("extism.function")
	// AttrModule is the name of the module instance the call ran in (Extism
	// names the main module of instance N "main_N").
	AttrModule = attribute.Key("extism.module")
	// AttrReturnCode is the i32 the export returned, when it returns one.
	AttrReturnCode = attribute.Key("extism.return_code")
	// AttrExitCode is the WASI exit code, when the guest called proc_exit.
	AttrExitCode = attribute.Key("extism.exit_code")
)

var (
	// pluginKey is boxed once: a ctx.Value(key) with a key of a string
	// type held in a variable would allocate on every host call.
	pluginKey any = extism.PluginCtxKey("plugin")

	// calls maps each *extism.Plugin that is inside a call to the state of
	// that call. An entry exists only while the call runs, so the map's
	// size is the number of calls in flight. Extism runs one call at a time
	// per Plugin, which makes the Plugin the key and the call's state
	// single-goroutine.
	calls sync.Map

	callPool = sync.Pool{New: func() any { return new(call) }}
)

// call is the state of one plugin call: from the Before of the export that
// Extism runs to its After or Abort.
type call struct {
	obs      *Observer
	key      any             // the *extism.Plugin
	ctx      context.Context // the ctx of the call, as Extism passed it to the export
	callSpan trace.Span      // the call span, the host's account of the call
	// span is the span guest data hangs on when no guest span is open: the
	// call span, or with WithUntrustedGuests the root of the guest's own
	// trace. spanCtx holds it.
	span     trace.Span
	spanCtx  context.Context
	isolated bool // span is the guest's own root, not callSpan
	tracer   trace.Tracer
	function string
	module   string
	// recording is false when the call span is not recorded (the caller's
	// span was not sampled): guest spans and tags are then not even read.
	recording bool

	depth      int // nested export calls within this call
	stack      []frame
	free       []*node // recycled nodes
	skipped    int     // open span-enter calls dropped at a limit; their span-exit calls are dropped too
	skippedFn  int     // the same for function enters
	skipWhy    dropReason
	skipWhyFn  dropReason
	started    int   // guest spans started (manual) or kept (function)
	tags       int   // span tags set
	grown      int64 // memory growth recorded on the call span
	grownTotal int64 // memory growth in the whole call

	names    *funcNames // function names of namesMod
	namesMod api.Module

	// interned outlives the call: see intern.
	interned map[string]string

	drops [numDropReasons]int
}

// lookupCall returns the call in progress for the plugin in ctx, or nil.
func lookupCall(ctx context.Context) *call {
	_, c := pluginCall(ctx)
	return c
}

// pluginCall returns the plugin in ctx (nil outside an Extism call) and its
// call in progress (nil when none).
func pluginCall(ctx context.Context) (key any, c *call) {
	key = ctx.Value(pluginKey)
	if key == nil {
		return nil, nil
	}
	if v, ok := calls.Load(key); ok {
		c = v.(*call)
	}
	return key, c
}

// exportListener watches an exported function of a guest module, to see
// where each plugin call starts and ends.
type exportListener struct {
	obs  *Observer
	name string
	// spanName is set when WithFunctionSpans picks the function: calls of
	// it from within a plugin call get function spans.
	spanName string
}

var _ experimental.FunctionListener = (*exportListener)(nil)

func (l *exportListener) Before(ctx context.Context, mod api.Module, def api.FunctionDefinition, _ []uint64, _ experimental.StackIterator) {
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
			c.depth++ // an export called within the call
			if l.spanName != "" {
				c.functionEnter(def.Index(), l.spanName)
			}
			return
		}
		// A call that never saw its After or Abort: end it rather than
		// let it swallow this one.
		calls.Delete(p)
		c.finish(nil, nil, errAbandoned)
		c.release()
	}
	calls.Store(p, l.obs.startCall(ctx, p, mod.Name(), l.name))
}

func (l *exportListener) After(ctx context.Context, mod api.Module, def api.FunctionDefinition, results []uint64) {
	l.end(ctx, mod, def, results, nil)
}

func (l *exportListener) Abort(ctx context.Context, mod api.Module, def api.FunctionDefinition, err error) {
	l.end(ctx, mod, def, nil, err)
}

func (l *exportListener) end(ctx context.Context, mod api.Module, def api.FunctionDefinition, results []uint64, err error) {
	if mod.Name() == "" {
		return
	}
	p, c := pluginCall(ctx)
	if c == nil || c.ctx != ctx {
		return
	}
	if c.depth > 0 {
		c.depth--
		if l.spanName != "" {
			c.functionExit(def.Index(), failure(err))
		}
		return
	}
	calls.Delete(p)
	c.finish(def, results, err)
	c.release()
}

// callSpanOptions are the call span's start options, made once: a slice
// built per call for the variadic argument would be an allocation.
var callSpanOptions = []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindInternal)}

var errAbandoned = errors.New("observe: the plugin call ended without the runtime reporting its end")

func (o *Observer) startCall(ctx context.Context, key any, module, function string) *call {
	c := callPool.Get().(*call)
	c.obs = o
	c.key = key
	c.ctx = ctx
	c.module = module
	c.function = function
	parent := trace.SpanFromContext(ctx)
	c.tracer = o.tracer(parent)
	c.spanCtx, c.callSpan = c.tracer.Start(ctx, function, callSpanOptions...)
	c.span = c.callSpan
	c.recording = c.callSpan.IsRecording()
	if c.recording {
		// Set after the start, not passed to it: building them costs
		// allocations that a call nobody records should not pay.
		c.callSpan.SetAttributes(AttrFunction.String(function), AttrModule.String(module))
	}
	if o.untrusted && c.recording {
		// The guest's spans go to a trace of their own, linked both ways
		// with the call span: they can neither forge nor clutter the
		// caller's trace.
		c.spanCtx, c.span = c.tracer.Start(ctx, function+" (guest)", trace.WithNewRoot(),
			trace.WithAttributes(AttrFunction.String(function), AttrModule.String(module)),
			trace.WithLinks(trace.Link{SpanContext: c.callSpan.SpanContext()}))
		c.callSpan.AddLink(trace.Link{SpanContext: c.span.SpanContext()})
		c.isolated = true
		c.recording = c.span.IsRecording()
	}
	return c
}

// finish ends the call: spans the guest left open, then the call span.
// def and results are those of the export (def is nil when abandoned).
func (c *call) finish(def api.FunctionDefinition, results []uint64, err error) {
	var exitCode uint32
	var exited bool
	if err != nil {
		var exitErr *sys.ExitError
		if errors.As(err, &exitErr) {
			exitCode, exited = exitErr.ExitCode(), true
			if exitCode == 0 {
				err = nil // proc_exit(0) is how a WASI command succeeds
			}
		}
	}

	if n := len(c.stack); n > 0 {
		desc := "span still open when the plugin call returned"
		if err != nil {
			desc = "span still open when the plugin call failed: " + err.Error()
		}
		now := time.Now()
		open := 0
		for i := n - 1; i >= 0; i-- {
			f := c.remove(i)
			if !f.placeholder {
				open++
			}
			c.endFrame(&f, c.below(i), now, codes.Error, desc)
		}
		c.count(dropOpenSpan, open)
	}
	if err != nil {
		// The app gets the error from CallWithContext; this line ties it to
		// the trace and says what became of the guest's open spans.
		if e := c.obs.reports.failed.Warn(); e != nil {
			c.logFields(e).Err(err).Int("open_spans_ended", c.drops[dropOpenSpan]).
				Msg("observe: plugin call failed; its open spans were ended with status Error")
		}
	}

	if c.callSpan.IsRecording() {
		cs := c.callSpan
		if exited {
			cs.SetAttributes(AttrExitCode.Int64(int64(exitCode)))
		}
		var rc uint32
		if err == nil && def != nil && len(def.ResultTypes()) == 1 && len(results) == 1 {
			rc = api.DecodeU32(results[0])
			cs.SetAttributes(AttrReturnCode.Int64(int64(int32(rc))))
		}
		switch {
		case err != nil:
			cs.RecordError(err)
			cs.SetStatus(codes.Error, err.Error())
		case rc != 0:
			desc := fmt.Sprintf("plugin returned %d", int32(rc))
			if p, ok := c.key.(*extism.Plugin); ok {
				if msg := p.GetErrorWithContext(c.ctx); msg != "" {
					desc += ": " + msg
				}
			}
			cs.SetStatus(codes.Error, desc)
		}
		c.recordDrops()
	}
	c.flushDropCounts()
	if c.isolated {
		if err != nil {
			c.span.SetStatus(codes.Error, err.Error())
		}
		c.span.End()
	}
	c.callSpan.End()
}

// release clears the call, so that nothing it held outlives it, and
// returns it to the pool.
func (c *call) release() {
	clear(c.stack)
	stack, free := c.stack[:0], c.free[:0]
	if cap(stack) > 64 {
		stack = nil // a deep call's stack is not kept for every later one
	}
	if cap(free) > 64 {
		free = nil
	}
	*c = call{stack: stack, free: free, interned: c.interned}
	callPool.Put(c)
}
