package observe

import (
	"context"
	"slices"
	"strings"
	"sync/atomic"
	"unsafe"

	extism "github.com/extism/go-sdk"
	"github.com/tetratelabs/wazero/api"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/extism-observe/observe/internal/conv"
	"github.com/extism-observe/observe/internal/names"
	"github.com/extism-observe/observe/internal/tags"
)

// Namespaces of the Observe API that guests import.
const (
	// nsLegacy is the original Observe API, with i64 pointers.
	nsLegacy = "dylibso_observe"
	// nsAPI is the current manual Observe API, with i32 pointers.
	nsAPI = "dylibso:observe/api"
	// nsInstrument is the current automatic instrumentation API.
	nsInstrument = "dylibso:observe/instrument"
)

// observeNamespaces are the namespaces of the Observe API.
var observeNamespaces = map[string]bool{nsLegacy: true, nsAPI: true, nsInstrument: true}

// hostOp is what an Observe API host function does.
type hostOp uint8

const (
	opMetric hostOp = iota + 1
	opLog
	opSpanEnter
	opSpanExit
	opSpanTags
	opFunctionEnter
	opFunctionExit
	opMemoryGrow
)

// hostFunc describes one Observe API function of one namespace.
type hostFunc struct {
	namespace, name string
	op              hostOp
	// wide is true for the legacy namespace, whose pointers are i64.
	wide bool
}

var hostFuncs = []hostFunc{
	{nsLegacy, "metric", opMetric, true},
	{nsLegacy, "log", opLog, true},
	{nsLegacy, "span_enter", opSpanEnter, true},
	{nsLegacy, "span_exit", opSpanExit, true},
	{nsLegacy, "span_tags", opSpanTags, true},
	{nsLegacy, "instrument_enter", opFunctionEnter, true},
	{nsLegacy, "instrument_exit", opFunctionExit, true},
	{nsLegacy, "instrument_memory_grow", opMemoryGrow, true},
	{nsAPI, "metric", opMetric, false},
	{nsAPI, "log", opLog, false},
	{nsAPI, "span-enter", opSpanEnter, false},
	{nsAPI, "span-exit", opSpanExit, false},
	{nsAPI, "span-tags", opSpanTags, false},
	{nsInstrument, "enter", opFunctionEnter, false},
	{nsInstrument, "exit", opFunctionExit, false},
	{nsInstrument, "memory-grow", opMemoryGrow, false},
}

// params returns the wasm parameter types of f.
func (f hostFunc) params() []api.ValueType {
	ptr := api.ValueTypeI32
	if f.wide {
		ptr = api.ValueTypeI64
	}
	switch f.op {
	case opMetric, opLog:
		return []api.ValueType{api.ValueTypeI32, ptr, api.ValueTypeI32}
	case opSpanEnter, opSpanTags:
		return []api.ValueType{ptr, api.ValueTypeI32}
	case opFunctionEnter, opFunctionExit, opMemoryGrow:
		return []api.ValueType{api.ValueTypeI32}
	}
	return nil
}

// HostFunctions returns the Observe API host functions of every namespace
// guests import (manual and automatic instrumentation, old and new), for
// extism.NewPlugin or extism.NewCompiledPlugin. Append the app's own host
// functions to them, or them to the app's. A guest that imports none of
// them still links.
//
// The functions do their work only in plugins created with the ctx from
// [Observer.Context]; elsewhere they log, once a minute, how to fix the
// set-up.
//
// Each call returns a new slice; the functions in it are made once per
// Observer, since apps ask for them at every plugin they create.
func (o *Observer) HostFunctions() []extism.HostFunction {
	return slices.Clone(o.hostFns)
}

// makeHostFunctions makes the Observe API host functions of o.
func (o *Observer) makeHostFunctions() []extism.HostFunction {
	fns := make([]extism.HostFunction, 0, len(hostFuncs))
	for i := range hostFuncs {
		f := &hostFuncs[i]
		fn := extism.NewHostFunctionWithStack(f.name, func(ctx context.Context, cp *extism.CurrentPlugin, stack []uint64) {
			o.hostCall(ctx, cp, f, stack)
		}, f.params(), nil)
		fn.SetNamespace(f.namespace)
		fns = append(fns, fn)
	}
	return fns
}

// HostFunctions returns the host functions of the [Default] Observer.
func HostFunctions() []extism.HostFunction { return Default().HostFunctions() }

// hostCall does the work of Observe API function f, called by the guest
// of the call in ctx with params. An Extism host function cannot see the
// module that called it; the call knows it (see call.mod), and so the
// guest's memory.
func (o *Observer) hostCall(ctx context.Context, cp *extism.CurrentPlugin, f *hostFunc, params []uint64) {
	if o.inert {
		// Nothing it reports could go anywhere, and its plugins have no
		// calls to find (inert.go).
		return
	}
	c := callOf(ctx, cp)
	switch {
	case c == nil:
		o.reportNoContext(ctx)
		return
	case c.obs != o:
		o.reportForeign(c)
		return
	case c.silent:
		return // nothing it reports would go anywhere
	}
	// An i32 arrives in the low half of its slot, the high half undefined.
	ptr := func(v uint64) uint64 {
		if f.wide {
			return v
		}
		return uint64(api.DecodeU32(v))
	}
	mod := c.mod
	switch f.op {
	case opSpanEnter:
		c.spanEnter(mod, ptr(params[0]), api.DecodeU32(params[1]))
	case opSpanExit:
		c.spanExit()
	case opSpanTags:
		c.spanTags(mod, ptr(params[0]), api.DecodeU32(params[1]))
	case opLog:
		c.log(mod, api.DecodeI32(params[0]), ptr(params[1]), api.DecodeU32(params[2]))
	case opMetric:
		c.metric(mod, api.DecodeI32(params[0]), ptr(params[1]), api.DecodeU32(params[2]))
	case opFunctionEnter:
		if fn := api.DecodeU32(params[0]); c.recording && !c.observeAPI(fn) {
			c.functionEnter(fn, c.functionName(fn))
		}
	case opFunctionExit:
		if fn := api.DecodeU32(params[0]); !c.observeAPI(fn) {
			c.functionExit(fn, nil)
		}
	case opMemoryGrow:
		c.memoryGrow(api.DecodeU32(params[0]))
	}
}

var noContextWarned atomic.Uintptr

// reportNoContext logs that a plugin lacks the observer's ctx: once per
// plugin in a row, and at most once a minute.
func (o *Observer) reportNoContext(ctx context.Context) {
	var id uintptr
	if p, ok := ctx.Value(pluginKey).(*extism.Plugin); ok {
		id = uintptr(unsafe.Pointer(p))
	}
	if noContextWarned.Swap(id) == id && id != 0 {
		return
	}
	o.dropped.Add(context.WithoutCancel(ctx), 1, dropAttrs[dropNoContext])
	e := o.reports.byReason[dropNoContext].Error()
	if e == nil {
		return
	}
	e.Str("reason", dropNoContext.String()).Msg("observe: a plugin called an Observe API function, " +
		"but it was not created with observe.Context: its spans, logs and metrics are dropped. " +
		"Pass observe.Context(ctx) (or Observer.Context) as the ctx of extism.NewPlugin or extism.NewCompiledPlugin")
}

// reportForeign logs, once a minute, that the plugin of call c was given
// o's host functions but created with another Observer's Context. What its
// guest reports is dropped: it belongs to neither with certainty, and one
// of the two may keep its guests apart (WithUntrustedGuests).
func (o *Observer) reportForeign(c *call) {
	if e := o.reports.foreign.Error(); e != nil {
		c.logFields(e).Msg("observe: this plugin was created with one Observer's Context and another " +
			"Observer's HostFunctions; what its guest reports is dropped. Give extism.NewPlugin (or " +
			"NewCompiledPlugin) the Context and the HostFunctions of the same Observer")
	}
}

// What the guest's Observe API calls do to the call's spans: the guest's
// strings are read here (memory.go), and the span stack (stack.go) does the
// rest.

const wasmPageSize = 64 << 10

// unnamedSpan names a guest span the guest gave an empty name.
const unnamedSpan = "(unnamed)"

// live returns the ctx and span of the innermost live span of the call.
func (c *call) live() (context.Context, trace.Span) { return c.spans.live() }

// spanEnter opens a manual guest span, child of the innermost open span.
func (c *call) spanEnter(mod api.Module, ptr uint64, n uint32) {
	if !c.recording {
		c.spans.enterPlaceholder(true)
		return
	}
	b, truncated, ok := c.guestBytes(mod, "span name", ptr, n)
	if !ok {
		// The guest's span-exit still follows, and spans may open inside:
		// they go to the span below.
		c.spans.enterPlaceholder(false)
		return
	}
	name := c.intern(viewString(b))
	if name == "" {
		name = unnamedSpan
	}
	c.spans.enter(name, truncated)
}

// spanExit closes the innermost open manual span.
func (c *call) spanExit() { c.spans.exit() }

// functionEnter opens the span of a call of wasm function fn.
func (c *call) functionEnter(fn uint32, name string) {
	if c.recording {
		c.spans.enterFunction(fn, name)
	}
}

// functionExit closes the span of the innermost open call of function fn;
// see spanStack.exitFunction.
func (c *call) functionExit(fn uint32, err error) {
	if c.recording {
		c.spans.exitFunction(fn, err)
	}
}

// functionName names function fn of the module the call is in.
func (c *call) functionName(fn uint32) string {
	if c.info == nil {
		return names.Fallback(fn)
	}
	return c.info.name(fn)
}

// observeAPI reports whether function fn of the module the call is in is
// an import of the Observe API, whose calls are no function spans.
func (c *call) observeAPI(fn uint32) bool {
	return c.info != nil && c.info.isObserveAPI(fn)
}

// memoryGrow records that the guest grows its memory by pages.
func (c *call) memoryGrow(pages uint32) {
	if c.recording {
		c.spans.memoryGrow(pages)
	}
}

// spanTags sets tags on the innermost open span: "k:v,k2:v2", each split
// at its first ':', a tag with no ':' a boolean true.
func (c *call) spanTags(mod api.Module, ptr uint64, n uint32) {
	if !c.recording {
		return
	}
	b, _, ok := c.guestBytes(mod, "span tags", ptr, n)
	if !ok {
		return
	}
	ts := tags.Scanner{S: viewString(b)}
	for {
		key, value, hasValue, ok := ts.Next()
		if !ok {
			return
		}
		if c.tags >= c.obs.limits.MaxTagsPerCall {
			c.report(dropTagLimit, "observe: guest span tags beyond Limits.MaxTagsPerCall in one call dropped")
			continue
		}
		c.tags++
		k := attribute.Key(c.guestKey(key))
		if hasValue {
			c.spans.setAttributes(k.String(owned(value)))
		} else {
			c.spans.setAttributes(k.Bool(true))
		}
	}
}

// guestKey returns the attribute key for a tag key the guest wrote (which
// may alias guest memory), owned.
func (c *call) guestKey(key string) string {
	if c.obs.untrusted || strings.HasPrefix(key, "extism.") || strings.HasPrefix(key, "observe.") ||
		strings.HasPrefix(key, "wasm.") {
		return conv.GuestPrefix + owned(key)
	}
	return c.intern(key)
}

// maxInterned bounds the strings a call object remembers.
const maxInterned = 1024

// intern returns a guest string (which may alias guest memory) as an owned,
// valid UTF-8 string, reusing the string made the last time the same bytes
// came: span names and tag keys repeat call after call, and this saves
// copying them; the last one returned is checked first. The table lives
// with the pooled call object, so it outlasts the call. (A string whose
// invalid UTF-8 was replaced is stored under its replacement, so the
// guest's bytes miss it: harmless.)
func (c *call) intern(guest string) string {
	if guest == c.lastInterned {
		return c.lastInterned // a span opened in a loop, a tag set on each
	}
	if s, ok := c.interned[guest]; ok {
		c.lastInterned = s
		return s
	}
	s := owned(guest)
	c.lastInterned = s
	if c.interned == nil {
		c.interned = make(map[string]string)
	} else if len(c.interned) >= maxInterned {
		clear(c.interned)
	}
	c.interned[s] = s
	return s
}
