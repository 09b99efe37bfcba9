package observe

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	extism "github.com/extism/go-sdk"
	"github.com/tetratelabs/wazero/api"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/extism-observe/observe/internal/conv"
)

// attrErrorType is the semantic conventions' error.type, set on failed
// calls; its values are in failure.go.
const attrErrorType = semconv.ErrorTypeKey

var (
	// pluginKey is boxed once: a ctx.Value(key) with a key of a string
	// type held in a variable would allocate on every host call.
	pluginKey any = extism.PluginCtxKey("plugin")

	// calls maps each *extism.Plugin that is inside a call to the state of
	// that call. An entry exists only while the call runs, so the map's
	// size is the number of calls in flight. Extism runs one call at a time
	// per Plugin, which makes the Plugin the key and the call's state
	// single-goroutine. callSlots is in front of it.
	calls sync.Map

	callPool = sync.Pool{New: func() any {
		c := new(call)
		c.extismLog = c.logExtism
		c.entry = &callEntry{c: c}
		return c
	}}
)

// call is the state of one plugin call: from the Before of the export that
// Extism runs to its After or Abort.
type call struct {
	obs      *Observer
	key      any             // the *extism.Plugin
	ctx      context.Context // the ctx of the call, as Extism passed it to the export
	callSpan trace.Span      // the call span, the host's account of the call
	callCtx  context.Context // holds callSpan: the call metrics' exemplars point at it
	start    time.Time       // for extism.call.duration, when timed
	plugin   string          // the plugin's name
	// timed and counted say whether the call is measured by the
	// extism.call.duration and extism.call.active instruments.
	timed, counted bool
	// span is the span guest data hangs on when no guest span is open: the
	// call span, or with WithUntrustedGuests the root of the guest's own
	// trace. spanCtx holds it.
	span    trace.Span
	spanCtx context.Context
	// quiet is the call span when the tracer is OpenTelemetry's no-op one.
	quiet    quietSpan
	isolated bool // span is the guest's own root, not callSpan
	tracer   trace.Tracer
	function string
	module   string
	// recording is false when the call span is not recorded (the caller's
	// span was not sampled): guest spans and tags are then not even read.
	recording bool
	// silent is set when nothing the call could report goes anywhere
	// (Observer.silent): it then only keeps its place, for the
	// propagation of the caller's trace on the guest's HTTP requests and
	// for SpanFromContext. See startSilent.
	silent bool

	// mod is the guest module the call is in, whose memory the Observe API
	// functions read: the main module, or a module of the manifest that it
	// called into (modules holds those it left, innermost last). info is
	// what was learned of mod when it was compiled.
	mod     api.Module
	info    *module
	modules []moduleFrame

	// httpFailed is set when a guest request failed in the transport: its
	// client span is recorded, and Extism's panic that follows is its own.
	httpFailed bool
	depth      int       // nested export calls within this call
	spans      spanStack // the call's open spans
	tags       int       // span tags set

	// lastInstrument is the instrument of the call's last metric line
	// (recordLine).
	lastInstrument *instrument

	// initializing is set while the call is the initialisation of the
	// guest's runtime (_initialize, __wasm_call_ctors) that Extism runs
	// before the first call of an instance: the call then goes on with the
	// export that the app called, under one call span.
	initializing bool
	initialized  bool   // the initialisation ended; the app's export comes next
	initFn       uint32 // the function index of the initialisation's export

	// interned and lastInterned outlive the call: see intern.
	interned     map[string]string
	lastInterned string

	// extismLog is this call's Extism plugin logger (logs.go), made once
	// per call value; appLog is the plugin's own, which it stands in for
	// while the call runs.
	extismLog func(extism.LogLevel, string)
	appLog    func(extism.LogLevel, string)

	// entry is the call's entry of callSlots, made once per call value;
	// slot is the slot it is in, when it took one.
	entry *callEntry
	slot  *atomic.Pointer[callEntry]

	drops [numDropReasons]int
}

type moduleFrame struct {
	mod  api.Module
	info *module
}

// Every host call and listener call finds its call from its plugin, so the
// lookup is on the hottest path there is. calls, a sync.Map, hashes its
// interface keys, and allocates an entry per Store; in front of it,
// callSlots is a direct-mapped table of calls by the address of their
// plugin, read with two atomic loads. A call takes its plugin's slot when
// the slot is free, and goes in the map only when it is not: two plugins
// of one slot still find theirs, and a call in its slot costs the map
// nothing. A slot holds a call only while its owner is its plugin: a
// reader that finds a call whose owner is another plugin, or a call that
// has just ended, looks in the map. Only the goroutine of a plugin's call
// starts and ends that call, so a reader for plugin p that sees owner p
// sees p's call in progress, and one that does not finds it in the map.
const callSlotBits = 10

var callSlots [1 << callSlotBits]atomic.Pointer[callEntry]

// callEntry is a call's entry in callSlots. It outlives the call's tenure
// (the call value is pooled, its entry with it), and is only read
// atomically or, for c, which never changes, after an atomic load.
type callEntry struct {
	owner atomic.Pointer[extism.Plugin] // the plugin, while the call runs
	c     *call
}

// slotOf is the slot of plugin p: Fibonacci hashing of its address.
func slotOf(p *extism.Plugin) *atomic.Pointer[callEntry] {
	h := uint64(uintptr(unsafe.Pointer(p))) * 0x9E3779B97F4A7C15
	return &callSlots[h>>(64-callSlotBits)]
}

// register makes c the call in progress of plugin key.
func (c *call) register(key any) {
	if p, ok := key.(*extism.Plugin); ok {
		c.entry.owner.Store(p)
		if s := slotOf(p); s.CompareAndSwap(nil, c.entry) {
			c.slot = s
			return
		}
	}
	calls.Store(key, c)
}

// unregister ends c's tenure as the call in progress of plugin key.
func (c *call) unregister(key any) {
	c.entry.owner.Store(nil)
	if c.slot != nil {
		c.slot.CompareAndSwap(c.entry, nil)
		c.slot = nil
		return
	}
	calls.Delete(key)
}

// callOfPlugin returns the call in progress of p, or nil.
func callOfPlugin(p *extism.Plugin) *call {
	if e := slotOf(p).Load(); e != nil && e.owner.Load() == p {
		return e.c
	}
	if v, ok := calls.Load(p); ok {
		return v.(*call)
	}
	return nil
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
	if p, ok := key.(*extism.Plugin); ok {
		return key, callOfPlugin(p)
	}
	if v, ok := calls.Load(key); ok {
		c = v.(*call)
	}
	return key, c
}

// callOf returns the call in progress of the plugin that cp is, or of the
// plugin in ctx, or nil. The Extism SDK has looked the plugin up in ctx to
// make cp; reading it from cp spares a second walk up the ctx, on every
// host call.
func callOf(ctx context.Context, cp *extism.CurrentPlugin) *call {
	if p := pluginOf(cp); p != nil {
		return callOfPlugin(p)
	}
	_, c := pluginCall(ctx)
	return c
}

// currentPluginHoldsPlugin is true when extism.CurrentPlugin is what the
// Extism SDK v1.7 makes it: a struct of one field, the *Plugin. Then
// pluginOf reads it; else (a new SDK) it says nil, and callOf looks in the
// ctx as before. TestCurrentPluginHoldsPlugin fails on such an SDK.
var currentPluginHoldsPlugin = func() bool {
	t := reflect.TypeFor[extism.CurrentPlugin]()
	return t.NumField() == 1 && t.Field(0).Type == reflect.TypeFor[*extism.Plugin]() && t.Field(0).Offset == 0
}()

// pluginOf returns the plugin of cp, or nil.
func pluginOf(cp *extism.CurrentPlugin) *extism.Plugin {
	if cp == nil || !currentPluginHoldsPlugin {
		return nil
	}
	return *(**extism.Plugin)(unsafe.Pointer(cp))
}

// quietSpan is a span that records nothing, with a span context: the no-op
// tracer's span for a call (startCall), held in the call so that making it
// costs no allocation.
type quietSpan struct {
	tracenoop.Span
	sc trace.SpanContext
}

func (s *quietSpan) SpanContext() trace.SpanContext { return s.sc }

// callSpanOptions are the call span's start options, made once: a slice
// built per call for the variadic argument would be an allocation.
var callSpanOptions = []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindInternal)}

var errAbandoned = errors.New("observe: the plugin call ended without the runtime reporting its end")

func (o *Observer) startCall(ctx context.Context, key any, mod api.Module, info *module, function string) *call {
	// The caller's span is looked up (a walk up the ctx) only where it is
	// needed: not for a configured provider's silent call.
	tracer := o.fixedTracer
	if tracer == nil {
		tracer = o.tracer(trace.SpanFromContext(ctx))
	}
	if o.silent(ctx, tracer) {
		return startSilent(o, ctx, key, tracer)
	}
	c := callPool.Get().(*call)
	c.obs = o
	c.key = key
	c.ctx = ctx
	c.mod, c.info = mod, info
	c.module = mod.Name()
	c.function = function
	c.plugin = info.pluginName(mod)
	c.tracer = tracer
	if _, off := c.tracer.(tracenoop.Tracer); off {
		// What the no-op tracer's Start returns, a non-recording span with
		// the caller's span context in the caller's ctx for everything
		// downstream, without the ctx it makes for it (an allocation).
		c.quiet.sc = trace.SpanContextFromContext(ctx)
		c.spanCtx, c.callSpan = ctx, &c.quiet
	} else {
		c.spanCtx, c.callSpan = c.tracer.Start(ctx, function, callSpanOptions...)
	}
	c.callCtx, c.span = c.spanCtx, c.callSpan
	c.recording = c.callSpan.IsRecording()
	if c.recording {
		// Set after the start, not passed to it: building them costs
		// allocations that a call nobody records should not pay.
		c.callSpan.SetAttributes(conv.Function.String(function), conv.CodeFunction.String(function),
			conv.Module.String(c.module), conv.Plugin.String(c.plugin))
	}
	// An instrument that measures nothing (OpenTelemetry's global
	// MeterProvider before an SDK is set, a view that drops it) costs no
	// clock reading or attribute lookup. Whether the call is counted is
	// kept, so that it is uncounted at its end even if that changed.
	if c.timed = o.callDuration != nil && o.callDuration.Enabled(c.callCtx); c.timed {
		c.start = time.Now()
	}
	if c.counted = o.callsActive != nil && o.callsActive.Enabled(c.callCtx); c.counted {
		o.callsActive.Add(c.callCtx, 1, info.pluginOptions().add...)
	}
	if o.untrusted && c.recording {
		// The guest's spans go to a trace of their own, linked both ways
		// with the call span: they can neither forge nor clutter the
		// caller's trace.
		c.spanCtx, c.span = c.tracer.Start(ctx, function+" (guest)", trace.WithNewRoot(),
			trace.WithAttributes(conv.Function.String(function), conv.CodeFunction.String(function), conv.Module.String(c.module)),
			trace.WithLinks(trace.Link{SpanContext: c.callSpan.SpanContext()}))
		c.callSpan.AddLink(trace.Link{SpanContext: c.span.SpanContext()})
		c.isolated = true
		c.recording = c.span.IsRecording()
	}
	s := &c.spans
	s.tracer, s.wall, s.since, s.drops = c.tracer, time.Now, time.Since, c
	s.minDuration, s.maxDepth, s.maxSpans = o.minDuration, o.limits.MaxSpanDepth, o.limits.MaxSpansPerCall
	s.reset(c.spanCtx, c.span)
	if p, ok := key.(*extism.Plugin); ok {
		if p.Adapter != nil {
			o.reportAdapter()
		}
		if o.extismLogs {
			c.hookLogger(p)
		}
	}
	return c
}

// endInit ends the initialisation of the guest's runtime: the call goes on
// with the export the app called.
func (c *call) endInit() {
	c.functionExit(c.initFn, nil)
}

// resume starts the part of the call that runs def, the export the app
// called, after the guest's runtime was initialised in the same call span.
func (c *call) resume(def api.FunctionDefinition) {
	c.initialized = false
	c.function = def.ExportNames()[0]
	if c.callSpan.IsRecording() {
		c.callSpan.SetName(c.function)
		c.callSpan.SetAttributes(conv.Function.String(c.function), conv.CodeFunction.String(c.function))
	}
	if c.isolated {
		c.span.SetName(c.function + " (guest)")
		c.span.SetAttributes(conv.Function.String(c.function), conv.CodeFunction.String(c.function))
	}
}

// reportAdapter says, once a minute, that the Extism SDK's own observe-sdk
// integration is configured beside the Observer, where it gets nothing.
func (o *Observer) reportAdapter() {
	if e := o.reports.adapter.Error(); e != nil {
		e.Msg("observe: this plugin was created with PluginConfig.ObserveAdapter and with the observe host " +
			"functions; the two do not combine, and the adapter receives nothing (the Extism SDK installs its " +
			"host functions only where none are). Remove ObserveAdapter and ObserveOptions: the observe " +
			"package reports the same spans, inside the caller's trace")
	}
}

// finish ends the call: spans the guest left open, then the call span.
// def and results are those of the export (def is nil when abandoned).
func (c *call) finish(def api.FunctionDefinition, results []uint64, err error) {
	if c.silent {
		return // nothing to end, record or report
	}
	out := outcomeOf(c.ctx, def, results, err)
	if out.errorType == errHostFunction && c.recording {
		ctx, _ := c.live()
		c.refusedRequest(ctx, out.err)
	}
	if c.spans.depth() > 0 {
		desc := "span still open when the plugin call returned"
		if out.err != nil {
			desc = "span still open when the plugin call failed: " + out.describe()
		}
		c.count(dropOpenSpan, c.spans.endAll(desc))
	}
	var desc string
	if out.errorType != "" {
		desc = out.describe()
		if out.errorType == errReturn {
			if p, ok := c.key.(*extism.Plugin); ok {
				if msg := p.GetErrorWithContext(c.ctx); msg != "" {
					desc += ": " + firstLine(msg)
				}
			}
		}
		c.logFailure(&out)
	}

	if c.callSpan.IsRecording() {
		cs := c.callSpan
		if out.exited {
			cs.SetAttributes(conv.ExitCode.Int64(int64(out.exitCode)), conv.ProcessExitCode.Int64(int64(out.exitCode)))
		}
		if out.returned {
			cs.SetAttributes(conv.ReturnCode.Int64(int64(out.returnCode)))
		}
		if out.errorType != "" {
			cs.SetAttributes(attrErrorType.String(out.errorType))
			if out.err != nil {
				recordException(cs, out.err)
			}
			cs.SetStatus(codes.Error, desc)
		}
		c.recordDrops()
	}
	c.flushDropCounts()
	c.recordCallMetrics(&out)
	if c.isolated {
		if out.errorType != "" {
			c.span.SetStatus(codes.Error, desc)
		}
		c.span.End()
	}
	c.callSpan.End()
	c.unhookLogger()
}

// recordCallMetrics records the call in the call metrics, in the ctx of the
// call span so that exemplars point at it.
func (c *call) recordCallMetrics(out *outcome) {
	o := c.obs
	if c.timed {
		o.callDuration.Record(c.callCtx, time.Since(c.start).Seconds(), c.info.callOptions(c.function, out.errorType)...)
	}
	if c.counted {
		o.callsActive.Add(c.callCtx, -1, c.info.pluginOptions().add...)
	}
	if o.memoryUsage != nil && o.memoryUsage.Enabled(c.callCtx) {
		if size, ok := memorySize(c.mod); ok {
			o.memoryUsage.Record(c.callCtx, int64(size), c.info.pluginOptions().record...)
		}
	}
}

// memorySize returns the size of mod's memory. A module the guest closed
// (proc_exit, a timeout) has none left: wazero releases it, and reading its
// size would fault.
func memorySize(mod api.Module) (size uint32, ok bool) {
	if mod == nil || mod.IsClosed() {
		return 0, false
	}
	defer func() {
		if recover() != nil { // closed between the check and the read
			size, ok = 0, false
		}
	}()
	mem := mod.Memory()
	if mem == nil {
		return 0, false
	}
	return mem.Size(), true
}

// logFailure writes the one line of a failed call, rate-limited: what
// failed, how, and the trace it is in. The app has the error itself, from
// CallWithContext, and its stack trace is on the span's exception event.
func (c *call) logFailure(out *outcome) {
	e := c.obs.reports.failed.Warn()
	if e == nil {
		return
	}
	e = c.logFields(e).Str(string(attrErrorType), out.errorType)
	switch {
	case out.exited:
		e = e.Uint32("exit_code", out.exitCode)
	case out.returned:
		e = e.Int32("return_code", out.returnCode)
	}
	if n := c.drops[dropOpenSpan]; n > 0 {
		e = e.Int("open_spans_ended", n)
	}
	e.Msg("observe: plugin call failed")
}

// recordException adds the standard exception event for err to span, with
// wazero's multi-line wasm stack trace as its stack trace.
func recordException(span trace.Span, err error) {
	span.AddEvent(semconv.ExceptionEventName, trace.WithAttributes(exceptionAttributes(err)...))
}

// exceptionAttributes are the attributes of the standard exception event
// for err: its innermost cause's type, its first line, and the rest (a
// wasm stack trace from wazero) as the stack trace.
func exceptionAttributes(err error) []attribute.KeyValue {
	msg, stack := splitTrace(err.Error())
	cause := err
	for u := errors.Unwrap(cause); u != nil; u = errors.Unwrap(cause) {
		cause = u
	}
	attrs := []attribute.KeyValue{
		semconv.ExceptionType(fmt.Sprintf("%T", cause)),
		semconv.ExceptionMessage(msg),
	}
	if stack != "" {
		attrs = append(attrs, semconv.ExceptionStacktrace(stack))
	}
	return attrs
}

// release clears the call, so that nothing it held outlives it, and
// returns it to the pool.
func (c *call) release() {
	if c.silent {
		c.releaseSilent()
		return
	}
	c.spans.release()
	clear(c.modules)
	*c = call{spans: c.spans, modules: c.modules[:0], interned: c.interned, lastInterned: c.lastInterned, extismLog: c.extismLog, entry: c.entry}
	callPool.Put(c)
}
