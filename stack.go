package observe

import (
	"context"
	"time"

	"github.com/rs/zerolog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/extism-observe/observe/internal/conv"
	"github.com/extism-observe/observe/internal/names"
)

// spanStack is the open spans of one plugin call, innermost last, above a
// bottom frame: the call span, or with WithUntrustedGuests the root of the
// guest's own trace. It owns everything about them: which are started and
// which deferred, what the limits let through, which enters were dropped
// (so that their exits are too), and memory growth. It knows nothing of
// wasm: the call reads the guest's strings and hands it names.
//
// Its clock is injected, so that what WithMinDuration keeps, what moves
// where, and the limits are tested without wasm (stack_test.go).
type spanStack struct {
	tracer trace.Tracer
	// The clock of the spans the stack times itself (see stamp): wall is
	// read once per call, for epoch, and since on every reading after it.
	// time.Now and time.Since, but in tests.
	wall        func() time.Time
	since       func(time.Time) time.Duration
	epoch       time.Time
	minDuration time.Duration
	maxDepth    int // Limits.MaxSpanDepth
	maxSpans    int // Limits.MaxSpansPerCall
	drops       dropper

	frames []frame  // frames[0] is the bottom frame
	free   []*node  // recycled nodes
	moved  []*node  // scratch of exitFunction
	skip   [3]skips // enters dropped at a limit, by kind (manual, function, host)
	// started counts the guest spans started (manual) or kept (function),
	// for MaxSpansPerCall.
	started int
	// grownTotal is the memory growth of the whole call.
	grownTotal int64
	// eager turns lazy frames off, for the test that they change nothing
	// (TestSpanStackLazyIsEager).
	eager bool
	// fnAttrs holds the attributes of a function span while they are set
	// (setFunctionAttributes).
	fnAttrs [2]attribute.KeyValue
}

// stamp is a reading of the stack's clock: the time since its epoch, the
// call's first reading, on the monotonic clock. Function spans read the
// clock on every entry and exit, and nearly all of them are dropped for
// being short: a stamp costs one monotonic reading and no arithmetic on
// time.Time, which is made only for the spans that are kept (at). A step
// of the wall clock during a call does not move its spans.
type stamp int64

// unstamped is no reading: endFrame ends a span at the time it is called.
const unstamped stamp = -1

// now reads the stack's clock.
func (s *spanStack) now() stamp {
	if s.epoch.IsZero() {
		s.epoch = s.wall()
		return 0
	}
	return stamp(s.since(s.epoch))
}

// at is the time of t.
func (s *spanStack) at(t stamp) time.Time { return s.epoch.Add(time.Duration(t)) }

// skips counts the open enters of one kind that were dropped at a limit:
// once one is, every later one is too until its exit, so that exits pair
// with the enters they belong to.
type skips struct {
	open int
	why  dropReason
}

// dropper is what the stack reports drops to: the call, which counts and
// logs them with its identity.
type dropper interface {
	count(reason dropReason, n int)
	report(reason dropReason, msg string)
	drop(reason dropReason) *zerolog.Event
}

// frameKind tells what a frame stands for.
type frameKind uint8

const (
	manualFrame      frameKind = iota // span-enter ... span-exit
	functionFrame                     // an instrumented function, or one WithFunctionSpans picked
	hostFrame                         // a call of one of the app's host functions (WithHostFunctionSpans)
	placeholderFrame                  // a manual span not started: the call is not recorded, or its name was unreadable
	bottomFrame                       // the call span, under every guest span
)

// frame is an open span of the call. It is live (span started) or, while
// a function span that may yet be dropped is open below it, deferred: held
// as a node until that function ends and its fate is known. Above the
// bottom, the stack is always some live frames, then some deferred ones. A
// placeholder pairs a span-enter with its span-exit and is otherwise
// invisible: what the guest reports inside it goes to the span below.
//
// A deferred function span that nothing has happened in yet is lazy: it is
// its name and start only, with no node, until something is recorded in
// it, a span opens above it or a span below it ends, or it ends and is
// kept (materialize). So a lazy frame is always the innermost span, and
// nothing under it changes while it is lazy: its node, made late, is the
// one it would have had from the start. Most function spans are short,
// have no children, and are dropped: this way they cost two clock
// readings and little else.
type frame struct {
	kind frameKind
	lazy bool
	fn   uint32 // function index, for function frames

	// Live frames.
	ctx   context.Context // holds span, for children and metric exemplars
	span  trace.Span
	grown int64 // bytes of memory growth recorded on span

	// Deferred frames.
	node *node

	// Lazy frames.
	name  string
	start stamp
}

func (f *frame) isSpan() bool { return f.kind != placeholderFrame }

// isLive reports whether f's span is started.
func (f *frame) isLive() bool { return f.node == nil && !f.lazy && f.isSpan() }

// node is a span not started yet: everything needed to start it later,
// with its own timestamps, under whichever parent it ends up with.
type node struct {
	name     string
	function bool
	fn       uint32 // function index, for function spans
	start    stamp
	end      stamp
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
	at    stamp
	attrs []attribute.KeyValue
}

// reset empties the stack and sets its bottom frame: span, in ctx.
func (s *spanStack) reset(ctx context.Context, span trace.Span) {
	clear(s.frames)
	s.frames = append(s.frames[:0], frame{kind: bottomFrame, ctx: ctx, span: span})
	s.skip = [3]skips{}
	s.started, s.grownTotal = 0, 0
	s.epoch = time.Time{}
}

// release drops what the stack holds, keeping its buffers unless large.
func (s *spanStack) release() {
	clear(s.frames)
	frames, free := s.frames[:0], s.free[:0]
	if cap(frames) > 64 {
		frames = nil // a deep call's stack is not kept for every later one
	}
	if cap(free) > 64 {
		free = nil
	}
	*s = spanStack{frames: frames, free: free}
}

// depth is the number of open guest spans, placeholders included.
func (s *spanStack) depth() int { return len(s.frames) - 1 }

// live returns the ctx and span of the innermost live span, the bottom's
// when no guest span is live.
func (s *spanStack) live() (context.Context, trace.Span) {
	for i := len(s.frames) - 1; ; i-- {
		if f := &s.frames[i]; f.isLive() {
			return f.ctx, f.span
		}
	}
}

// innermost returns the innermost open span's frame, the bottom when no
// guest span is open, with a node when it is deferred (never lazy): it is
// where what the guest reports goes.
func (s *spanStack) innermost() *frame {
	i := s.top()
	if f := &s.frames[i]; f.lazy {
		s.materialize(f, s.below(i))
	}
	return &s.frames[i]
}

// top returns the stack position of the innermost open span, 0 when no
// guest span is open.
func (s *spanStack) top() int {
	i := len(s.frames) - 1
	for i > 0 && !s.frames[i].isSpan() {
		i--
	}
	return i
}

// settle is called before the span frame at stack position i ends while
// spans above it stay open: a lazy innermost frame above it gets its node
// now, while what is under it is as it was when it opened (see
// frame.lazy).
func (s *spanStack) settle(i int) {
	if t := s.top(); t > i && s.frames[t].lazy {
		s.materialize(&s.frames[t], s.below(t))
	}
}

// materialize gives the lazy frame f its node, under below, the span frame
// it is above.
func (s *spanStack) materialize(f, below *frame) {
	n := s.newNode(f.name, functionFrame, f.start)
	n.fn = f.fn
	if p := below.node; p != nil {
		n.parent = p
		p.children = append(p.children, n)
	} else {
		n.parentCtx = below.ctx // below is live
	}
	f.node, f.lazy, f.name = n, false, ""
}

// below returns the span frame under stack position i, passing over
// placeholders; the bottom at the end.
func (s *spanStack) below(i int) *frame {
	for j := min(i, len(s.frames)) - 1; j > 0; j-- {
		if f := &s.frames[j]; f.isSpan() {
			return f
		}
	}
	return &s.frames[0]
}

// setAttributes puts attributes on the innermost open span.
func (s *spanStack) setAttributes(kvs ...attribute.KeyValue) {
	s.innermost().setAttributes(kvs...)
}

func (f *frame) setAttributes(kvs ...attribute.KeyValue) {
	if f.node != nil {
		f.node.attrs = append(f.node.attrs, kvs...)
	} else {
		f.span.SetAttributes(kvs...)
	}
}

// addEvent records an event on the innermost open span.
func (s *spanStack) addEvent(name string, kvs ...attribute.KeyValue) {
	if f := s.innermost(); f.node != nil {
		f.node.events = append(f.node.events, event{name: name, at: s.now(), attrs: kvs})
		return
	}
	_, span := s.live()
	span.AddEvent(name, trace.WithAttributes(kvs...))
}

// admit decides whether a new span of kind (manual or function) may open,
// and counts the drop when not.
func (s *spanStack) admit(kind frameKind) bool {
	sk := &s.skip[kind]
	if sk.open > 0 {
		sk.open++
		s.drops.count(sk.why, 1)
		return false
	}
	switch {
	case s.depth() >= s.maxDepth:
		sk.why = dropSpanDepth
		s.drops.report(dropSpanDepth, "observe: guest spans nested deeper than Limits.MaxSpanDepth dropped")
	case kind != functionFrame && s.started >= s.maxSpans:
		sk.why = dropSpanLimit
		s.drops.report(dropSpanLimit, "observe: guest spans beyond Limits.MaxSpansPerCall in one call dropped")
	default:
		return true
	}
	sk.open++
	return false
}

// enter opens a manual span named name, child of the innermost open span;
// truncated marks a name cut to Limits.MaxStringBytes. It returns false
// when a limit dropped it.
func (s *spanStack) enter(name string, truncated bool) bool {
	if !s.admit(manualFrame) {
		return false
	}
	f := s.push(manualFrame, 0, name)
	if truncated {
		f.setAttributes(conv.Truncated.Bool(true))
	}
	return true
}

// enterPlaceholder opens a manual span that is not started: it pairs with
// its span-exit, and what comes inside goes to the span below. counted
// says whether it counts toward MaxSpansPerCall (a span of a call nobody
// records does; an unreadable name does not).
func (s *spanStack) enterPlaceholder(counted bool) {
	if !s.admit(manualFrame) {
		return
	}
	if counted {
		s.started++
	}
	s.frames = append(s.frames, frame{kind: placeholderFrame})
}

// exit closes the innermost open manual span. Function spans opened after
// it stay open: a manual span may end inside a function called after it
// began (a helper that calls span-exit, say).
func (s *spanStack) exit() {
	if sk := &s.skip[manualFrame]; sk.open > 0 {
		sk.open--
		return
	}
	for i := len(s.frames) - 1; i > 0; i-- {
		if k := s.frames[i].kind; k == manualFrame || k == placeholderFrame {
			if f := &s.frames[i]; k == manualFrame && f.node == nil && i == len(s.frames)-1 {
				// The common case, a live span on top: what endFrame does
				// for it, without taking a copy of the frame.
				span := f.span
				*f = frame{}
				s.frames = s.frames[:i]
				span.End()
				return
			}
			if k == manualFrame {
				s.settle(i)
			}
			f := s.remove(i)
			s.endFrame(&f, s.below(i), unstamped, codes.Unset, "")
			return
		}
	}
	s.drops.report(dropUnbalancedExit, "observe: guest called span-exit with no open span; ignored")
}

// enterFunction opens the span of a call of wasm function fn.
func (s *spanStack) enterFunction(fn uint32, name string) {
	if s.admit(functionFrame) {
		s.push(functionFrame, fn, name)
	}
}

// exitFunction closes the span of the innermost open call of function fn,
// and of every function called from it that did not report its exit: a
// callee cannot outlive its caller. Manual spans stay open. An exit that
// matches no open function span is dropped and reported.
func (s *spanStack) exitFunction(fn uint32, err error) {
	if sk := &s.skip[functionFrame]; sk.open > 0 {
		sk.open--
		return
	}
	top := len(s.frames) - 1
	now := unstamped // shared by the frames ended together, when needed
	if f := &s.frames[top]; f.lazy && f.fn == fn && err == nil {
		// Nearly every exit: of the innermost span, which held nothing.
		now = s.now()
		if time.Duration(now-f.start) < s.minDuration {
			*f = frame{}
			s.frames = s.frames[:top]
			return
		}
	}
	j := -1
	for i := top; i > 0; i-- {
		if f := &s.frames[i]; f.kind == functionFrame && f.fn == fn {
			j = i
			break
		}
	}
	if j < 0 {
		if e := s.drops.drop(dropUnbalancedExit); e != nil {
			e.Str("detail", names.Fallback(fn)).Msg("observe: guest reported the exit of a function with no open span; ignored")
		}
		return
	}
	code, desc := codes.Unset, ""
	if err != nil {
		code, desc = codes.Error, err.Error()
	}
	if now == unstamped && (j < len(s.frames)-1 || !s.frames[j].isLive()) {
		now = s.now()
	}
	// Manual spans opened in the functions that end here outlive them: they
	// belong to the span that stays open below, once the functions ended.
	moved := s.moved[:0]
	for i := j + 1; i < len(s.frames); i++ {
		if f := &s.frames[i]; f.kind == manualFrame && f.node != nil && s.openedIn(f.node, j) {
			if p := f.node.parent; p != nil {
				p.children = removeNode(p.children, f.node)
			}
			moved = append(moved, f.node)
		}
	}
	for i := len(s.frames) - 1; i >= j; i-- {
		if s.frames[i].kind == functionFrame {
			f := s.remove(i)
			s.endFrame(&f, s.below(i), now, code, desc)
		}
	}
	if len(moved) > 0 {
		dest := s.below(j)
		for _, n := range moved {
			if d := dest.node; d != nil {
				n.parent = d
				d.children = append(d.children, n)
			} else {
				n.parent = nil
				s.emit(n, dest.ctx) // its frame's span from now on
			}
		}
		clear(moved)
	}
	s.moved = moved[:0]
}

// openedIn reports whether the deferred manual span n was opened in one of
// the function frames from stack position j up.
func (s *spanStack) openedIn(n *node, j int) bool {
	for i := j; i < len(s.frames); i++ {
		f := &s.frames[i]
		if f.kind != functionFrame || f.lazy { // nothing is opened in a lazy frame
			continue
		}
		if n.parent != nil && n.parent == f.node || n.parent == nil && f.node == nil && n.parentCtx == f.ctx {
			return true
		}
	}
	return false
}

// enterHost opens the span of a call of the app's host function name, in
// namespace.
func (s *spanStack) enterHost(name, namespace string) {
	if s.admit(hostFrame) {
		s.push(hostFrame, 0, name).setAttributes(conv.HostNamespace.String(namespace))
	}
}

// exitHost closes the span of the innermost open host function call; err
// is the host function's panic, if it panicked.
func (s *spanStack) exitHost(err error) {
	if sk := &s.skip[hostFrame]; sk.open > 0 {
		sk.open--
		return
	}
	for i := len(s.frames) - 1; i > 0; i-- {
		if s.frames[i].kind != hostFrame {
			continue
		}
		code, desc := codes.Unset, ""
		if err != nil {
			code, desc = codes.Error, firstLine(err.Error())
			s.frames[i].addException(err, s.now())
		}
		s.settle(i)
		f := s.remove(i)
		s.endFrame(&f, s.below(i), unstamped, code, desc)
		return
	}
}

// addException records err as the standard exception event of the frame's
// span.
func (f *frame) addException(err error, at stamp) {
	if f.node != nil {
		f.node.events = append(f.node.events, event{name: semconv.ExceptionEventName, at: at, attrs: exceptionAttributes(err)})
		return
	}
	f.span.AddEvent(semconv.ExceptionEventName, trace.WithAttributes(exceptionAttributes(err)...))
}

// endAll ends every open guest span, innermost first, with status Error and
// desc, and returns how many were spans (not placeholders).
func (s *spanStack) endAll(desc string) (open int) {
	now := s.now()
	for i := len(s.frames) - 1; i > 0; i-- {
		f := s.remove(i)
		if f.isSpan() {
			open++
		}
		s.endFrame(&f, s.below(i), now, codes.Error, desc)
	}
	return open
}

// memoryGrow records that the guest grows its memory by bytes: an event on
// the innermost open span, and the running total of growth on that span.
func (s *spanStack) memoryGrow(pages uint32) {
	bytes := int64(pages) * wasmPageSize
	s.grownTotal += bytes
	s.addEvent(conv.EventMemoryGrow, conv.GrowPages.Int64(int64(pages)), conv.GrowBytes.Int64(bytes))
	if f := s.innermost(); f.node != nil {
		f.node.grown += bytes
	} else {
		f.addGrown(bytes)
	}
}

// addGrown adds growth to the running total of a live frame and shows it
// on its span.
func (f *frame) addGrown(bytes int64) {
	f.grown += bytes
	f.span.SetAttributes(conv.MemoryGrown.Int64(f.grown))
}

// remove takes frame i off the stack, keeping the order of the others.
func (s *spanStack) remove(i int) frame {
	f := s.frames[i]
	copy(s.frames[i:], s.frames[i+1:])
	s.frames[len(s.frames)-1] = frame{}
	s.frames = s.frames[:len(s.frames)-1]
	return f
}

// push opens a span named name. Under a deferred frame it is deferred too;
// a function span is deferred when it may be dropped for being short; a
// manual span opened in a function span is deferred until it is known
// which span it belongs to: that function's, if it ends first, else the
// span that is still open when the function ends (see exitFunction).
func (s *spanStack) push(kind frameKind, fn uint32, name string) *frame {
	f := frame{kind: kind, fn: fn}
	top := s.innermost()
	switch {
	case kind == functionFrame && s.minDuration > 0 && !s.eager:
		f.lazy, f.name, f.start = true, name, s.now()
		s.frames = append(s.frames, f)
		return &s.frames[len(s.frames)-1]
	case top.node != nil:
		n := s.newNode(name, kind, s.now())
		n.parent = top.node
		top.node.children = append(top.node.children, n)
		f.node = n
	case kind == functionFrame && s.minDuration > 0, // eager
		kind != functionFrame && top.kind == functionFrame:
		n := s.newNode(name, kind, s.now())
		n.parentCtx, _ = s.live()
		f.node = n
	default:
		parent, _ := s.live()
		f.ctx, f.span = s.tracer.Start(parent, name)
	}
	if kind != functionFrame {
		s.started++
	}
	if kind == functionFrame {
		if f.node != nil {
			f.node.fn = fn // its attribute is set when it is emitted
		} else {
			s.setFunctionAttributes(f.span, name, fn)
		}
	}
	s.frames = append(s.frames, f)
	return &s.frames[len(s.frames)-1]
}

// setFunctionAttributes puts the attributes of the span of function fn,
// named name, on span. They are passed in a buffer of the stack's: a slice
// made for each call would be an allocation per kept span, and a Span
// copies what SetAttributes is given (the SDK's does).
func (s *spanStack) setFunctionAttributes(span trace.Span, name string, fn uint32) {
	s.fnAttrs = [2]attribute.KeyValue{conv.CodeFunction.String(name), conv.FunctionIndex.Int64(int64(fn))}
	span.SetAttributes(s.fnAttrs[:]...)
}

func (s *spanStack) newNode(name string, kind frameKind, start stamp) *node {
	var n *node
	if k := len(s.free); k > 0 {
		n = s.free[k-1]
		s.free = s.free[:k-1]
	} else {
		n = new(node)
	}
	n.name, n.function, n.start = name, kind == functionFrame, start
	return n
}

// freeNode recycles n within the call.
func (s *spanStack) freeNode(n *node) {
	clear(n.attrs)
	clear(n.events)
	clear(n.children)
	*n = node{attrs: n.attrs[:0], events: n.events[:0], children: n.children[:0]}
	s.free = append(s.free, n)
}

// endFrame ends a frame taken off the stack; below is the frame that was
// under it. at is the end time; unstamped means now.
func (s *spanStack) endFrame(f *frame, below *frame, at stamp, code codes.Code, desc string) {
	if f.lazy {
		if at == unstamped {
			at = s.now()
		}
		if code == codes.Unset && time.Duration(at-f.start) < s.minDuration {
			return // dropped, and it held nothing
		}
		s.materialize(f, below)
	}
	switch {
	case !f.isSpan():
	case f.node == nil:
		if code != codes.Unset {
			f.span.SetStatus(code, desc)
		}
		if at == unstamped {
			f.span.End()
		} else {
			f.span.End(trace.WithTimestamp(s.at(at)))
		}
	default:
		n := f.node
		if at == unstamped {
			at = s.now()
		}
		n.end, n.ended = at, true
		if code != codes.Unset {
			n.status, n.desc = code, desc
		}
		switch {
		case n.function:
			s.resolve(n, below)
		case n.parent == nil:
			// A manual span whose parent is live: its place is known.
			s.emit(n, n.parentCtx)
		}
		// A manual span under a deferred parent waits in its children.
	}
}

// resolve decides the fate of a function span that has ended: kept when it
// lasted at least the minimum duration (or failed), else dropped, with what
// it held moved to dest, the open span it was under: its nearest kept
// ancestor.
func (s *spanStack) resolve(n *node, dest *frame) {
	kept := n.status == codes.Error || time.Duration(n.end-n.start) >= s.minDuration
	if kept && s.started >= s.maxSpans {
		kept = false
		s.drops.report(dropSpanLimit, "observe: guest spans beyond Limits.MaxSpansPerCall in one call dropped")
	}
	if kept {
		s.started++
		if n.parent == nil {
			s.emit(n, n.parentCtx)
		}
		// Under a deferred parent, n waits in its children.
		return
	}
	if n.parent != nil {
		n.parent.children = removeNode(n.parent.children, n)
	}
	if d := dest.node; d != nil {
		d.attrs = append(d.attrs, n.attrs...)
		d.events = append(d.events, n.events...)
		d.grown += n.grown
		for _, ch := range n.children {
			ch.parent = d
			d.children = append(d.children, ch)
		}
	} else {
		if len(n.attrs) > 0 {
			dest.span.SetAttributes(n.attrs...)
		}
		for _, e := range n.events {
			dest.span.AddEvent(e.name, trace.WithTimestamp(s.at(e.at)), trace.WithAttributes(e.attrs...))
		}
		if n.grown > 0 {
			dest.addGrown(n.grown)
		}
		for _, ch := range n.children {
			s.emit(ch, dest.ctx)
		}
	}
	s.freeNode(n)
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
func (s *spanStack) emit(n *node, parentCtx context.Context) {
	ctx, span := s.tracer.Start(parentCtx, n.name, trace.WithTimestamp(s.at(n.start)), trace.WithAttributes(n.attrs...))
	if n.function {
		// Not among attrs: those move to the parent when a span is dropped.
		s.setFunctionAttributes(span, n.name, n.fn)
	}
	for _, e := range n.events {
		span.AddEvent(e.name, trace.WithTimestamp(s.at(e.at)), trace.WithAttributes(e.attrs...))
	}
	if n.grown > 0 {
		span.SetAttributes(conv.MemoryGrown.Int64(n.grown))
	}
	for _, ch := range n.children {
		s.emit(ch, ctx)
	}
	if !n.ended {
		for i := range s.frames {
			if f := &s.frames[i]; f.node == n {
				f.node, f.ctx, f.span, f.grown = nil, ctx, span, n.grown
				break
			}
		}
		s.freeNode(n)
		return
	}
	if n.status != codes.Unset {
		span.SetStatus(n.status, n.desc)
	}
	span.End(trace.WithTimestamp(s.at(n.end)))
	s.freeNode(n)
}
