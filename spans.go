package observe

import (
	"context"
	"strings"
	"time"

	"github.com/tetratelabs/wazero/api"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/extism-observe/observe/internal/names"
	"github.com/extism-observe/observe/internal/tags"

	"github.com/extism-observe/observe/internal/conv"
)

const wasmPageSize = 64 << 10

// unnamedSpan names a guest span the guest gave an empty name.
const unnamedSpan = "(unnamed)"

// frameKind tells manual spans (span-enter, span-exit) from function spans
// (automatic instrumentation, or WithFunctionSpans).
type frameKind uint8

const (
	manualFrame frameKind = iota
	functionFrame
)

// frame is an open span of the call. It is live (span started) or, while
// a function span that may yet be dropped is open below it, deferred: held
// as a node until that function ends and its fate is known. The stack is
// always some live frames, then some deferred ones.
type frame struct {
	kind frameKind
	fn   uint32 // function index, for function frames

	// Live frames.
	ctx   context.Context // holds span, for children and metric exemplars
	span  trace.Span
	grown int64 // bytes of memory growth recorded on span
	// placeholder frames stand for manual spans not started, because the
	// call is not recorded or the guest's name for it was unreadable. They
	// pair a span-enter with its span-exit and are otherwise invisible.
	placeholder bool

	// Deferred frames.
	node *node
}

// node is a span not started yet: everything needed to start it later,
// with its own timestamps, under whichever parent it ends up with.
type node struct {
	name     string
	function bool
	fn       uint32 // function index, for function spans
	start    time.Time
	end      time.Time
	ended    bool
	status   codes.Code
	desc     string
	attrs    []attribute.KeyValue
	events   []event
	grown    int64
	children []*node
	// parent is the deferred parent; when nil, parentCtx holds the live
	// parent's span.
	parent    *node
	parentCtx context.Context
}

type event struct {
	name  string
	at    time.Time
	attrs []attribute.KeyValue
}

// live returns the ctx and span of the innermost live span: the innermost
// live frame, else the call span.
func (c *call) live() (context.Context, trace.Span) {
	for i := len(c.stack) - 1; i >= 0; i-- {
		if f := &c.stack[i]; f.node == nil && !f.placeholder {
			return f.ctx, f.span
		}
	}
	return c.spanCtx, c.span
}

// innermost returns the innermost open frame, or nil for the call span.
// Placeholder frames are not spans: what the guest reports inside one goes
// to the span below it.
func (c *call) innermost() *frame {
	for i := len(c.stack) - 1; i >= 0; i-- {
		if f := &c.stack[i]; !f.placeholder {
			return f
		}
	}
	return nil
}

// setAttributes puts attributes on the innermost open span.
func (c *call) setAttributes(kvs ...attribute.KeyValue) {
	f := c.innermost()
	switch {
	case f == nil:
		c.span.SetAttributes(kvs...)
	case f.node != nil:
		f.node.attrs = append(f.node.attrs, kvs...)
	default:
		f.span.SetAttributes(kvs...)
	}
}

// addEvent records an event on the innermost open span.
func (c *call) addEvent(name string, kvs ...attribute.KeyValue) {
	if f := c.innermost(); f != nil && f.node != nil {
		f.node.events = append(f.node.events, event{name: name, at: time.Now(), attrs: kvs})
		return
	}
	_, span := c.live()
	span.AddEvent(name, trace.WithAttributes(kvs...))
}

// push opens a span named name. Under a deferred frame it is deferred too;
// a function span is deferred when it may be dropped for being short.
func (c *call) push(kind frameKind, fn uint32, name string) *frame {
	f := frame{kind: kind, fn: fn}
	top := c.innermost()
	switch {
	case top != nil && top.node != nil:
		n := c.newNode(name, kind, time.Now())
		n.parent = top.node
		top.node.children = append(top.node.children, n)
		f.node = n
	case kind == functionFrame && c.obs.minDuration > 0:
		n := c.newNode(name, kind, time.Now())
		n.parentCtx, _ = c.live()
		f.node = n
	default:
		parent, _ := c.live()
		f.ctx, f.span = c.tracer.Start(parent, name)
	}
	if kind == manualFrame {
		c.started++
	}
	if kind == functionFrame {
		if f.node != nil {
			f.node.fn = fn // its attribute is set when it is emitted
		} else {
			f.span.SetAttributes(conv.FunctionIndex.Int64(int64(fn)))
		}
	}
	c.stack = append(c.stack, f)
	return &c.stack[len(c.stack)-1]
}

func (f *frame) setAttribute(kv attribute.KeyValue) {
	if f.node != nil {
		f.node.attrs = append(f.node.attrs, kv)
	} else {
		f.span.SetAttributes(kv)
	}
}

func (c *call) newNode(name string, kind frameKind, start time.Time) *node {
	var n *node
	if k := len(c.free); k > 0 {
		n = c.free[k-1]
		c.free = c.free[:k-1]
	} else {
		n = new(node)
	}
	n.name, n.function, n.start = name, kind == functionFrame, start
	return n
}

// freeNode recycles n within the call.
func (c *call) freeNode(n *node) {
	clear(n.attrs)
	clear(n.events)
	clear(n.children)
	*n = node{attrs: n.attrs[:0], events: n.events[:0], children: n.children[:0]}
	c.free = append(c.free, n)
}

// remove takes frame i off the stack, keeping the order of the others.
func (c *call) remove(i int) frame {
	f := c.stack[i]
	copy(c.stack[i:], c.stack[i+1:])
	c.stack[len(c.stack)-1] = frame{}
	c.stack = c.stack[:len(c.stack)-1]
	return f
}

// admit decides whether a new span of kind may open, and counts the drop
// when not. Once a span-enter is dropped, every later one of the same kind
// is too until its exit, so that exits pair with the enters they belong to.
func (c *call) admit(kind frameKind) bool {
	skipped, why := &c.skipped, &c.skipWhy
	if kind == functionFrame {
		skipped, why = &c.skippedFn, &c.skipWhyFn
	}
	if *skipped > 0 {
		*skipped++
		c.count(*why, 1)
		return false
	}
	switch {
	case len(c.stack) >= c.obs.limits.MaxSpanDepth:
		*why = dropSpanDepth
		c.report(dropSpanDepth, "observe: guest spans nested deeper than Limits.MaxSpanDepth dropped")
	case kind == manualFrame && c.started >= c.obs.limits.MaxSpansPerCall:
		*why = dropSpanLimit
		c.report(dropSpanLimit, "observe: guest spans beyond Limits.MaxSpansPerCall in one call dropped")
	default:
		return true
	}
	*skipped++
	return false
}

// spanEnter opens a manual guest span, child of the innermost open span.
func (c *call) spanEnter(mod api.Module, ptr uint64, n uint32) {
	if !c.admit(manualFrame) {
		return
	}
	if !c.recording {
		c.started++
		c.stack = append(c.stack, frame{placeholder: true})
		return
	}
	b, truncated, ok := c.guestBytes(mod, "span name", ptr, n)
	if !ok {
		// The guest's span-exit still follows, and spans may open inside:
		// they go to the span below.
		c.stack = append(c.stack, frame{placeholder: true})
		return
	}
	name := c.intern(viewString(b))
	if name == "" {
		name = unnamedSpan
	}
	f := c.push(manualFrame, 0, name)
	if truncated {
		f.setAttribute(conv.Truncated.Bool(true))
	}
}

// spanExit closes the innermost open manual span. Function spans opened
// after it stay open: a manual span may end inside a function called after
// it began (a helper that calls span-exit, say).
func (c *call) spanExit() {
	if c.skipped > 0 {
		c.skipped--
		return
	}
	for i := len(c.stack) - 1; i >= 0; i-- {
		if c.stack[i].kind == manualFrame {
			f := c.remove(i)
			c.endFrame(&f, c.below(i), time.Time{}, codes.Unset, "")
			return
		}
	}
	c.report(dropUnbalancedExit, "observe: guest called span-exit with no open span; ignored")
}

// functionEnter opens the span of a call of wasm function fn.
func (c *call) functionEnter(fn uint32, name string) {
	if !c.recording || !c.admit(functionFrame) {
		return
	}
	c.push(functionFrame, fn, name)
}

// functionName names function fn of the module the call is in.
func (c *call) functionName(fn uint32) string {
	if c.info == nil {
		return names.Fallback(fn)
	}
	return c.info.name(fn)
}

// functionExit closes the span of the innermost open call of function fn,
// and of every function called from it that did not report its exit: a
// callee cannot outlive its caller. Manual spans stay open. An exit that
// matches no open function span is dropped and reported.
func (c *call) functionExit(fn uint32, err error) {
	if !c.recording {
		return
	}
	if c.skippedFn > 0 {
		c.skippedFn--
		return
	}
	j := -1
	for i := len(c.stack) - 1; i >= 0; i-- {
		if f := &c.stack[i]; f.kind == functionFrame && f.fn == fn {
			j = i
			break
		}
	}
	if j < 0 {
		if e := c.drop(dropUnbalancedExit); e != nil {
			e.Str("detail", names.Fallback(fn)).Msg("observe: guest reported the exit of a function with no open span; ignored")
		}
		return
	}
	code, desc := codes.Unset, ""
	if err != nil {
		code, desc = codes.Error, err.Error()
	}
	var now time.Time // shared by the frames ended together, when needed
	if j < len(c.stack)-1 || c.stack[j].node != nil {
		now = time.Now()
	}
	for i := len(c.stack) - 1; i >= j; i-- {
		if c.stack[i].kind == functionFrame {
			f := c.remove(i)
			c.endFrame(&f, c.below(i), now, code, desc)
		}
	}
}

// below returns the span frame under stack position i (nil: the call
// span), passing over placeholders.
func (c *call) below(i int) *frame {
	for j := min(i, len(c.stack)) - 1; j >= 0; j-- {
		if f := &c.stack[j]; !f.placeholder {
			return f
		}
	}
	return nil
}

// endFrame ends a frame taken off the stack; below is the frame that was
// under it (nil: the call span). at is the end time; zero means now.
func (c *call) endFrame(f *frame, below *frame, at time.Time, code codes.Code, desc string) {
	switch {
	case f.placeholder:
	case f.node == nil:
		if code != codes.Unset {
			f.span.SetStatus(code, desc)
		}
		if at.IsZero() {
			f.span.End()
		} else {
			f.span.End(trace.WithTimestamp(at))
		}
	default:
		n := f.node
		if at.IsZero() {
			at = time.Now()
		}
		n.end, n.ended = at, true
		if code != codes.Unset {
			n.status, n.desc = code, desc
		}
		if n.function {
			c.resolve(n, below)
		}
	}
}

// resolve decides the fate of a function span that has ended: kept when it
// lasted at least the minimum duration (or failed), else dropped, with what
// it held moved to dest, the open span it was under: its nearest kept
// ancestor (nil: the call span).
func (c *call) resolve(n *node, dest *frame) {
	kept := n.status == codes.Error || n.end.Sub(n.start) >= c.obs.minDuration
	if kept && c.started >= c.obs.limits.MaxSpansPerCall {
		kept = false
		c.report(dropSpanLimit, "observe: guest spans beyond Limits.MaxSpansPerCall in one call dropped")
	}
	if kept {
		c.started++
		if n.parent == nil {
			c.emit(n, n.parentCtx)
		}
		// Under a deferred parent, n waits in its children.
		return
	}
	if n.parent != nil {
		n.parent.children = removeNode(n.parent.children, n)
	}
	if dest != nil && dest.node != nil {
		d := dest.node
		d.attrs = append(d.attrs, n.attrs...)
		d.events = append(d.events, n.events...)
		d.grown += n.grown
		for _, ch := range n.children {
			ch.parent = d
			d.children = append(d.children, ch)
		}
	} else {
		ctx, span := c.spanCtx, c.span
		if dest != nil {
			ctx, span = dest.ctx, dest.span
		}
		span.SetAttributes(n.attrs...)
		for _, e := range n.events {
			span.AddEvent(e.name, trace.WithTimestamp(e.at), trace.WithAttributes(e.attrs...))
		}
		if n.grown > 0 {
			c.addGrown(dest, n.grown)
		}
		for _, ch := range n.children {
			c.emit(ch, ctx)
		}
	}
	c.freeNode(n)
}

func removeNode(nodes []*node, n *node) []*node {
	for i, x := range nodes {
		if x == n {
			copy(nodes[i:], nodes[i+1:])
			nodes[len(nodes)-1] = nil
			return nodes[:len(nodes)-1]
		}
	}
	return nodes
}

// emit starts the deferred span n under parentCtx, with its own start
// time, replays what it recorded, and emits its children. An ended n is
// ended; an open one becomes its frame's live span.
func (c *call) emit(n *node, parentCtx context.Context) {
	ctx, span := c.tracer.Start(parentCtx, n.name, trace.WithTimestamp(n.start), trace.WithAttributes(n.attrs...))
	if n.function {
		// Not among attrs: those move to the parent when a span is dropped.
		span.SetAttributes(conv.FunctionIndex.Int64(int64(n.fn)))
	}
	for _, e := range n.events {
		span.AddEvent(e.name, trace.WithTimestamp(e.at), trace.WithAttributes(e.attrs...))
	}
	if n.grown > 0 {
		span.SetAttributes(conv.MemoryGrown.Int64(n.grown))
	}
	for _, ch := range n.children {
		c.emit(ch, ctx)
	}
	if !n.ended {
		for i := range c.stack {
			if f := &c.stack[i]; f.node == n {
				f.node, f.ctx, f.span, f.grown = nil, ctx, span, n.grown
				break
			}
		}
		c.freeNode(n)
		return
	}
	if n.status != codes.Unset {
		span.SetStatus(n.status, n.desc)
	}
	span.End(trace.WithTimestamp(n.end))
	c.freeNode(n)
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
			c.setAttributes(k.String(owned(value)))
		} else {
			c.setAttributes(k.Bool(true))
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
// copying them. The table lives with the pooled call object, so it
// outlasts the call. (A string whose invalid UTF-8 was replaced is stored
// under its replacement, so the guest's bytes miss it: harmless.)
func (c *call) intern(guest string) string {
	if s, ok := c.interned[guest]; ok {
		return s
	}
	s := owned(guest)
	if c.interned == nil {
		c.interned = make(map[string]string)
	} else if len(c.interned) >= maxInterned {
		clear(c.interned)
	}
	c.interned[s] = s
	return s
}

// memoryGrow records that the guest grows its memory by pages: an event on
// the innermost open span, and the running total of growth on that span.
func (c *call) memoryGrow(pages uint32) {
	if !c.recording {
		return
	}
	bytes := int64(pages) * wasmPageSize
	c.grownTotal += bytes
	c.addEvent(conv.EventMemoryGrow, conv.GrowPages.Int64(int64(pages)), conv.GrowBytes.Int64(bytes))
	f := c.innermost()
	if f != nil && f.node != nil {
		f.node.grown += bytes
		return
	}
	c.addGrown(f, bytes)
}

// addGrown adds growth to the running total of a live frame (nil: the call
// span) and shows it on the span.
func (c *call) addGrown(f *frame, bytes int64) {
	if f == nil || f.placeholder {
		c.grown += bytes
		c.span.SetAttributes(conv.MemoryGrown.Int64(c.grown))
		return
	}
	f.grown += bytes
	f.span.SetAttributes(conv.MemoryGrown.Int64(f.grown))
}
