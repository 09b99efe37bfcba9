package stdout

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/extism-observe/observe/internal/conv"
)

const (
	// defaultMaxPending bounds the spans held while waiting for their
	// parents. Past it, the trace that has waited longest is printed as it is.
	defaultMaxPending = 1 << 14
	// maxPrinted is how many printed spans are remembered, so that a child
	// ending after its parent was printed is shown at once rather than held.
	maxPrinted = 1 << 14
	// defaultIdleTimeout is how long a trace may wait with no new span before
	// what has arrived of it is printed. It covers parents that are never
	// exported here, such as a span of another TracerProvider.
	defaultIdleTimeout = 5 * time.Second
)

var errSpanExporterShutdown = errors.New("stdout: span exporter is shut down")

// SpanExporter is an [sdktrace.SpanExporter] that prints each trace as an
// indented tree of spans, with their attributes and events, to a writer.
//
// Spans reach an exporter as they end, children before their parent, so it
// holds the spans of a trace until the trace's local root ends: a span with
// no parent, or with a remote one. It then prints the root and every span
// below it that has arrived. A span that arrives after its parent was
// printed is printed at once, under a header that names that parent. Spans
// still waiting when no span of their trace has arrived for 5 seconds, or
// when [SpanExporter.ForceFlush] or [SpanExporter.Shutdown] is called, are
// printed as they are: each span whose parent is missing heads its own tree.
// No span is dropped.
//
// All text that comes from spans is escaped: no control character, escape
// sequence, invalid UTF-8 or line break is written as it is.
//
// A SpanExporter is safe for concurrent use.
type SpanExporter struct {
	cfg   config
	color bool

	mu       sync.Mutex
	pending  map[trace.TraceID]*pendingTrace
	nPending int
	seq      uint64 // arrival order of traces
	printed  printedSet
	timer    *time.Timer
	stopped  bool

	// Fixed at construction; tests change them.
	maxPending  int
	idleTimeout time.Duration
	now         func() time.Time
}

var _ sdktrace.SpanExporter = (*SpanExporter)(nil)

// pendingTrace holds the spans of one trace that wait for their parent.
type pendingTrace struct {
	id    trace.TraceID
	spans map[trace.SpanID]sdktrace.ReadOnlySpan
	seq   uint64    // when the trace first arrived, to print leftovers in order
	last  time.Time // when its latest span arrived
}

// NewSpanExporter returns a SpanExporter configured by opts. Register it
// with [sdktrace.WithSyncer] to see each trace as soon as it ends, or with
// [sdktrace.WithBatcher].
func NewSpanExporter(opts ...Option) *SpanExporter {
	cfg := newConfig(opts)
	return &SpanExporter{
		cfg:         cfg,
		color:       cfg.useColor(),
		pending:     make(map[trace.TraceID]*pendingTrace),
		maxPending:  defaultMaxPending,
		idleTimeout: defaultIdleTimeout,
		now:         time.Now,
	}
}

// ExportSpans prints the traces that spans complete and holds the other
// spans until their trace's root arrives. It returns an error after
// Shutdown, and the writer's error if a write fails.
func (e *SpanExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.stopped {
		return errSpanExporterShutdown
	}

	now := e.now()
	for _, s := range spans {
		if s == nil {
			continue
		}
		sc := s.SpanContext()
		pt := e.pending[sc.TraceID()]
		if pt == nil {
			e.seq++
			pt = &pendingTrace{
				id:    sc.TraceID(),
				spans: make(map[trace.SpanID]sdktrace.ReadOnlySpan),
				seq:   e.seq,
			}
			e.pending[pt.id] = pt
		}
		if _, dup := pt.spans[sc.SpanID()]; !dup {
			e.nPending++
		}
		pt.spans[sc.SpanID()] = s
		pt.last = now
	}

	// Only now look for roots, so that the order of spans within one call
	// does not matter.
	p := &printer{color: e.color}
	indexes := make(map[*pendingTrace]childIndex)
	for _, s := range spans {
		if s == nil {
			continue
		}
		sc := s.SpanContext()
		pt := e.pending[sc.TraceID()]
		if pt == nil || pt.spans[sc.SpanID()] == nil || !e.isHead(s) {
			continue // printed already, under a root earlier in spans
		}
		idx, ok := indexes[pt]
		if !ok {
			idx = newChildIndex(pt)
			indexes[pt] = idx
		}
		e.printTree(p, pt, idx, s)
	}
	for e.nPending > e.maxPending {
		e.printLeftovers(p, e.oldest())
	}
	e.schedule(now)
	return e.write(p)
}

// isHead reports whether s is the top of a tree that can be printed now:
// its parent is not in this process, or has been printed already.
func (e *SpanExporter) isHead(s sdktrace.ReadOnlySpan) bool {
	parent := s.Parent()
	if !parent.IsValid() || parent.IsRemote() || parent.SpanID() == s.SpanContext().SpanID() {
		return true
	}
	return e.printed.has(spanKey{s.SpanContext().TraceID(), parent.SpanID()})
}

// ForceFlush prints every span still waiting for its parent, each span whose
// parent has not arrived heading its own tree.
func (e *SpanExporter) ForceFlush(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.stopped {
		return nil
	}
	return e.flush()
}

// Shutdown prints every span still waiting, as ForceFlush does, and stops
// the exporter: later calls to ExportSpans return an error. Spans are
// printed even when ctx is done, since nothing else would show them.
func (e *SpanExporter) Shutdown(ctx context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.stopped {
		return nil
	}
	err := e.flush()
	e.stopped = true
	if e.timer != nil {
		e.timer.Stop()
		e.timer = nil
	}
	e.pending = nil
	e.printed = printedSet{}
	return err
}

// flush prints all pending spans. e.mu is held.
func (e *SpanExporter) flush() error {
	p := &printer{color: e.color}
	for _, pt := range e.byArrival() {
		e.printLeftovers(p, pt)
	}
	return e.write(p)
}

// flushIdle prints the traces that have waited idleTimeout since their last
// span arrived. It runs on the timer's goroutine.
func (e *SpanExporter) flushIdle() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.timer != nil {
		e.timer.Stop() // a no-op when this is the timer's own call
		e.timer = nil
	}
	if e.stopped {
		return
	}
	now := e.now()
	p := &printer{color: e.color}
	for _, pt := range e.byArrival() {
		if now.Sub(pt.last) >= e.idleTimeout {
			e.printLeftovers(p, pt)
		}
	}
	e.schedule(now)
	if err := e.write(p); err != nil {
		otel.Handle(err)
	}
}

// schedule starts the timer for the next idle flush when spans are waiting
// and no timer is running. e.mu is held.
func (e *SpanExporter) schedule(now time.Time) {
	if e.timer != nil || e.nPending == 0 {
		return
	}
	var next time.Time
	for _, pt := range e.pending {
		if next.IsZero() || pt.last.Before(next) {
			next = pt.last
		}
	}
	e.timer = time.AfterFunc(next.Add(e.idleTimeout).Sub(now), e.flushIdle)
}

func (e *SpanExporter) write(p *printer) error {
	if len(p.b) == 0 {
		return nil
	}
	if _, err := e.cfg.w.Write(p.b); err != nil {
		return fmt.Errorf("stdout: write spans: %w", err)
	}
	return nil
}

// byArrival returns the pending traces in the order they first arrived.
func (e *SpanExporter) byArrival() []*pendingTrace {
	pts := make([]*pendingTrace, 0, len(e.pending))
	for _, pt := range e.pending {
		pts = append(pts, pt)
	}
	slices.SortFunc(pts, func(a, b *pendingTrace) int { return cmp.Compare(a.seq, b.seq) })
	return pts
}

// oldest returns the pending trace that arrived first.
func (e *SpanExporter) oldest() *pendingTrace {
	var o *pendingTrace
	for _, pt := range e.pending {
		if o == nil || pt.seq < o.seq {
			o = pt
		}
	}
	return o
}

// printLeftovers prints all spans of pt, each span whose parent is not among
// them heading its own tree. e.mu is held.
func (e *SpanExporter) printLeftovers(p *printer, pt *pendingTrace) {
	var heads []sdktrace.ReadOnlySpan
	for id, s := range pt.spans {
		parent := s.Parent()
		if _, ok := pt.spans[parent.SpanID()]; !ok || !parent.IsValid() || parent.SpanID() == id {
			heads = append(heads, s)
		}
	}
	slices.SortFunc(heads, compareSpans)
	idx := newChildIndex(pt)
	for _, s := range heads {
		if pt.spans[s.SpanContext().SpanID()] != nil {
			e.printTree(p, pt, idx, s)
		}
	}
	// Spans left now have parents in a cycle, which only hand-made spans
	// can have; print them rather than lose them.
	for len(pt.spans) > 0 {
		var first sdktrace.ReadOnlySpan
		for _, s := range pt.spans {
			if first == nil || compareSpans(s, first) < 0 {
				first = s
			}
		}
		e.printTree(p, pt, idx, first)
	}
}

// childIndex lists the spans of a pendingTrace by parent. It stays usable
// while spans are printed and removed: printSpan skips those already gone.
type childIndex map[trace.SpanID][]sdktrace.ReadOnlySpan

func newChildIndex(pt *pendingTrace) childIndex {
	idx := make(childIndex)
	for _, s := range pt.spans {
		if pid := s.Parent().SpanID(); s.Parent().IsValid() && pid != s.SpanContext().SpanID() {
			idx[pid] = append(idx[pid], s)
		}
	}
	return idx
}

// printTree prints head and the spans of pt below it, and removes them from
// pt. e.mu is held.
func (e *SpanExporter) printTree(p *printer, pt *pendingTrace, children childIndex, head sdktrace.ReadOnlySpan) {
	p.raw(styleDim, "trace ")
	p.raw(styleDim, pt.id.String())
	if parent := head.Parent(); parent.IsValid() {
		key := spanKey{pt.id, parent.SpanID()}
		switch {
		case parent.IsRemote():
			p.raw(styleDim, " (remote parent "+parent.SpanID().String()+")")
		case e.printed.has(key):
			p.raw(styleDim, " (parent "+parent.SpanID().String()+" printed earlier)")
		default:
			p.raw(styleDim, " (parent "+parent.SpanID().String()+" not seen)")
		}
	}
	p.b = append(p.b, '\n')
	e.printSpan(p, pt, children, head, "", "")

	if len(pt.spans) == 0 {
		delete(e.pending, pt.id)
	}
}

// printSpan prints s on a line that starts with lead, then its events and
// children in time order, their lines starting with indent. e.mu is held.
func (e *SpanExporter) printSpan(p *printer, pt *pendingTrace, children childIndex, s sdktrace.ReadOnlySpan, lead, indent string) {
	id := s.SpanContext().SpanID()
	delete(pt.spans, id)
	e.nPending--
	e.printed.add(spanKey{pt.id, id})

	p.raw(styleDim, lead)
	e.spanLine(p, s)

	var kids []sdktrace.ReadOnlySpan
	for _, c := range children[id] {
		if pt.spans[c.SpanContext().SpanID()] != nil {
			kids = append(kids, c)
		}
	}
	slices.SortFunc(kids, compareSpans)
	events := slices.Clone(s.Events())
	slices.SortStableFunc(events, func(a, b sdktrace.Event) int { return a.Time.Compare(b.Time) })

	// An event goes before a child that starts at the same time: a log
	// written just before starting a span is the common case.
	for i, j := 0, 0; i < len(kids) || j < len(events); {
		if j < len(events) && (i == len(kids) || !events[j].Time.After(kids[i].StartTime())) {
			rail := "   "
			if i < len(kids) {
				rail = "│  "
			}
			p.raw(styleDim, indent+rail)
			eventLine(p, events[j])
			j++
			continue
		}
		c := kids[i]
		i++
		if pt.spans[c.SpanContext().SpanID()] == nil {
			continue // reached twice through malformed parents
		}
		if i == len(kids) {
			e.printSpan(p, pt, children, c, indent+"└─ ", indent+"   ")
		} else {
			e.printSpan(p, pt, children, c, indent+"├─ ", indent+"│  ")
		}
	}
	if n := s.DroppedEvents(); n > 0 {
		p.raw(styleDim, indent+"   ")
		p.raw(styleDim, "("+strconv.Itoa(n)+" events dropped)")
		p.b = append(p.b, '\n')
	}
}

// spanLine prints the name, duration, error status and attributes of s.
func (e *SpanExporter) spanLine(p *printer, s sdktrace.ReadOnlySpan) {
	name := s.Name()
	if name == "" {
		name = `""`
	}
	p.text(styleBold, name, maxTextRunes)
	if e.cfg.timings {
		p.b = append(p.b, ' ')
		p.raw(styleDim, formatDuration(s.EndTime().Sub(s.StartTime())))
	}
	if st := s.Status(); st.Code == codes.Error {
		p.b = append(p.b, ' ')
		p.open(styleRed + styleBold)
		p.b = append(p.b, "ERROR"...)
		if st.Description != "" {
			p.b = append(p.b, ' ', '"')
			p.b = appendEscaped(p.b, st.Description, maxTextRunes, true)
			p.b = append(p.b, '"')
		}
		p.close()
	}
	p.attrs(s.Attributes())
	if n := s.DroppedAttributes(); n > 0 {
		p.raw(styleDim, " ("+strconv.Itoa(n)+" attributes dropped)")
	}
	p.b = append(p.b, '\n')
}

// eventLine prints a span event: a log event as "level message", others as
// their name, each followed by its other attributes.
func eventLine(p *printer, ev sdktrace.Event) {
	attrs := ev.Attributes
	if ev.Name == conv.EventLog {
		level, msg := "log", ""
		rest := make([]attribute.KeyValue, 0, len(attrs))
		for _, kv := range attrs {
			switch {
			case kv.Key == conv.LogSeverity:
				level = kv.Value.Emit()
			case kv.Key == conv.LogMessage:
				msg = kv.Value.Emit()
			default:
				rest = append(rest, kv)
			}
		}
		// Pad to the width of "error", so that messages line up.
		lvl := appendEscaped(nil, level, 16, false)
		p.open(levelStyle(level))
		p.b = append(p.b, lvl...)
		p.close()
		for w := utf8.RuneCount(lvl); w < 5; w++ {
			p.b = append(p.b, ' ')
		}
		p.b = append(p.b, ' ')
		p.text("", msg, maxMessageRunes)
		attrs = rest
	} else {
		p.text(styleMagenta, ev.Name, maxTextRunes)
	}
	p.attrs(attrs)
	if ev.DroppedAttributeCount > 0 {
		p.raw(styleDim, " ("+strconv.Itoa(ev.DroppedAttributeCount)+" attributes dropped)")
	}
	p.b = append(p.b, '\n')
}

func levelStyle(level string) string {
	switch level {
	case "error", "fatal", "panic", "ERROR", "FATAL", "PANIC":
		return styleRed
	case "warn", "warning", "WARN", "WARNING":
		return styleYellow
	case "info", "INFO":
		return styleGreen
	case "debug", "DEBUG":
		return styleBlue
	}
	return styleDim
}

// compareSpans orders spans by start time, then name and ID so that the
// order is the same on every run.
func compareSpans(a, b sdktrace.ReadOnlySpan) int {
	if c := a.StartTime().Compare(b.StartTime()); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Name(), b.Name()); c != 0 {
		return c
	}
	ai, bi := a.SpanContext().SpanID(), b.SpanContext().SpanID()
	return bytes.Compare(ai[:], bi[:])
}

// spanKey names a span across traces.
type spanKey struct {
	trace trace.TraceID
	span  trace.SpanID
}

// printedSet remembers the last maxPrinted printed spans.
type printedSet struct {
	m    map[spanKey]struct{}
	ring []spanKey
	next int
}

func (ps *printedSet) has(k spanKey) bool {
	_, ok := ps.m[k]
	return ok
}

func (ps *printedSet) add(k spanKey) {
	if ps.m == nil {
		ps.m = make(map[spanKey]struct{})
	}
	if _, ok := ps.m[k]; ok {
		return
	}
	if len(ps.ring) < maxPrinted {
		ps.ring = append(ps.ring, k)
	} else {
		delete(ps.m, ps.ring[ps.next])
		ps.ring[ps.next] = k
		ps.next = (ps.next + 1) % maxPrinted
	}
	ps.m[k] = struct{}{}
}
