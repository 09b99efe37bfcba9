package observe

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// The span stack on its own: a real OpenTelemetry SDK pipeline, a clock the
// test moves, and no wasm. Each step is one thing a guest does.

type clock struct{ t time.Time }

func (c *clock) now() time.Time                  { return c.t }
func (c *clock) since(t time.Time) time.Duration { return c.t.Sub(t) }

// recordedDrops is the stack's dropper in these tests: it counts.
type recordedDrops map[dropReason]int

func (d recordedDrops) count(r dropReason, n int)        { d[r] += n }
func (d recordedDrops) report(r dropReason, _ string)    { d[r]++ }
func (d recordedDrops) drop(r dropReason) *zerolog.Event { d[r]++; return nil }

// step is one guest action on the stack, or the clock moving on.
type step struct {
	op   string // enter, exit, fenter, fexit, fail, grow, tag, wait
	name string
	fn   uint32
	wait time.Duration
}

func enter(name string) step             { return step{op: "enter", name: name} }
func exit() step                         { return step{op: "exit"} }
func fenter(fn uint32, name string) step { return step{op: "fenter", fn: fn, name: name} }
func fexit(fn uint32) step               { return step{op: "fexit", fn: fn} }
func fail(fn uint32) step                { return step{op: "fail", fn: fn} }
func wait(d time.Duration) step          { return step{op: "wait", wait: d} }
func grow(pages uint32) step             { return step{op: "grow", fn: pages} }
func tag(k string) step                  { return step{op: "tag", name: k} }
func placeholder() step                  { return step{op: "placeholder"} }
func henter(name string) step            { return step{op: "henter", name: name} }
func hexit() step                        { return step{op: "hexit"} }

type stackRun struct {
	rec   *tracetest.SpanRecorder
	drops recordedDrops
	clock *clock
	root  trace.Span
	s     *spanStack
}

func runStack(t *testing.T, minDuration time.Duration, maxDepth, maxSpans int, steps []step) *stackRun {
	t.Helper()
	return runStackMode(t, minDuration, maxDepth, maxSpans, false, steps)
}

// runStackMode is runStack, with lazy frames turned off when eager.
func runStackMode(t *testing.T, minDuration time.Duration, maxDepth, maxSpans int, eager bool, steps []step) *stackRun {
	t.Helper()
	r := &stackRun{rec: tracetest.NewSpanRecorder(), drops: recordedDrops{}, clock: &clock{t: time.Unix(1700000000, 0)}}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(r.rec))
	tracer := tp.Tracer("stack_test")
	ctx, root := tracer.Start(context.Background(), "call")
	r.root = root
	r.s = &spanStack{tracer: tracer, wall: r.clock.now, since: r.clock.since, minDuration: minDuration,
		maxDepth: maxDepth, maxSpans: maxSpans, drops: r.drops, eager: eager}
	r.s.reset(ctx, root)
	for _, st := range steps {
		switch st.op {
		case "enter":
			r.s.enter(st.name, false)
		case "exit":
			r.s.exit()
		case "fenter":
			r.s.enterFunction(st.fn, st.name)
		case "fexit":
			r.s.exitFunction(st.fn, nil)
		case "fail":
			r.s.exitFunction(st.fn, errors.New("trapped"))
		case "wait":
			r.clock.t = r.clock.t.Add(st.wait)
		case "grow":
			r.s.memoryGrow(st.fn)
		case "tag":
			r.s.setAttributes(attribute.Key(st.name).Bool(true))
		case "placeholder":
			r.s.enterPlaceholder(false)
		case "henter":
			r.s.enterHost(st.name, "env")
		case "hexit":
			r.s.exitHost(nil)
		}
	}
	if open := r.s.endAll("left open"); open > 0 {
		r.drops[dropOpenSpan] += open
	}
	root.End()
	return r
}

// tree renders the recorded spans as "parent > child [attrs]", sorted,
// leaving out the attributes every function span has: wasm.function.index,
// and code.function.name when it is the span's name.
func (r *stackRun) tree() []string {
	spans, byID := r.ended()
	var out []string
	for _, s := range spans {
		path := spanPath(s, byID)
		var keys []string
		for _, kv := range s.Attributes() {
			switch {
			case kv.Key == "wasm.function.index":
			case kv.Key == "code.function.name" && kv.Value.AsString() == s.Name():
				// every function span's, its own name
			default:
				keys = append(keys, string(kv.Key))
			}
		}
		sort.Strings(keys)
		if len(keys) > 0 {
			path += " [" + strings.Join(keys, " ") + "]"
		}
		out = append(out, path)
	}
	sort.Strings(out)
	return out
}

// ended returns the recorded spans, and the same by span ID.
func (r *stackRun) ended() ([]sdktrace.ReadOnlySpan, map[trace.SpanID]sdktrace.ReadOnlySpan) {
	spans := r.rec.Ended()
	byID := make(map[trace.SpanID]sdktrace.ReadOnlySpan, len(spans))
	for _, s := range spans {
		byID[s.SpanContext().SpanID()] = s
	}
	return spans, byID
}

// spanPath is span's place in the tree: "parent > child".
func spanPath(span sdktrace.ReadOnlySpan, byID map[trace.SpanID]sdktrace.ReadOnlySpan) string {
	path := span.Name()
	for p := span.Parent(); p.IsValid(); {
		ps, ok := byID[p.SpanID()]
		if !ok {
			break
		}
		path = ps.Name() + " > " + path
		p = ps.Parent()
	}
	return path
}

// detail renders every recorded span whole: its place in the tree, its
// times from the start of the run, status, attributes and events. The
// times of spans and events the stack does not time itself, but the SDK
// (live spans), are of the real clock, years after the test clock's: they
// show as "sdk".
func (r *stackRun) detail() []string {
	epoch := time.Unix(1700000000, 0)
	at := func(t time.Time) string {
		if d := t.Sub(epoch); d < time.Hour {
			return d.String()
		}
		return "sdk"
	}
	spans, byID := r.ended()
	var out []string
	for _, s := range spans {
		line := fmt.Sprintf("%s %s..%s %v %q", spanPath(s, byID), at(s.StartTime()), at(s.EndTime()), s.Status().Code, s.Status().Description)
		for _, kv := range s.Attributes() {
			line += fmt.Sprintf(" %s=%s", kv.Key, kv.Value.Emit())
		}
		for _, e := range s.Events() {
			line += fmt.Sprintf(" event:%s@%s", e.Name, at(e.Time))
		}
		out = append(out, line)
	}
	sort.Strings(out)
	return out
}

func (r *stackRun) span(name string) sdktrace.ReadOnlySpan {
	for _, s := range r.rec.Ended() {
		if s.Name() == name {
			return s
		}
	}
	return nil
}

func TestSpanStack(t *testing.T) {
	const min = 20 * time.Microsecond
	for _, tc := range []struct {
		name  string
		min   time.Duration
		depth int
		spans int
		steps []step
		tree  []string
		drops map[dropReason]int
	}{
		{
			name:  "manual spans nest",
			steps: []step{enter("a"), enter("b"), exit(), enter("c"), exit(), exit()},
			tree:  []string{"call", "call > a", "call > a > b", "call > a > c"},
		},
		{
			name:  "a short function span is dropped, and what it held goes to its parent",
			min:   min,
			steps: []step{enter("a"), fenter(1, "f"), tag("in.f"), enter("m"), exit(), wait(5 * time.Microsecond), fexit(1), exit()},
			tree:  []string{"call", "call > a > m", "call > a [in.f]"},
		},
		{
			name:  "a long function span is kept, with what it held",
			min:   min,
			steps: []step{fenter(1, "f"), tag("in.f"), enter("m"), wait(30 * time.Microsecond), exit(), fexit(1)},
			tree:  []string{"call", "call > f > m", "call > f [in.f]"},
		},
		{
			name:  "a failed function span is kept however short",
			min:   min,
			steps: []step{fenter(1, "f"), fail(1)},
			tree:  []string{"call", "call > f"},
		},
		{
			name:  "nested short functions dissolve into the long one around them",
			min:   min,
			steps: []step{fenter(1, "outer"), fenter(2, "inner"), enter("m"), exit(), fexit(2), wait(25 * time.Microsecond), fexit(1)},
			tree:  []string{"call", "call > outer", "call > outer > m"},
		},
		{
			name:  "an exit closes the callees that did not report theirs; manual spans stay open",
			steps: []step{fenter(1, "f"), enter("m"), fenter(2, "g"), fexit(1), exit()},
			tree:  []string{"call", "call > f", "call > m", "call > m > g"},
		},
		{
			name:  "a manual span that ends in the function it was opened in is its child",
			steps: []step{fenter(1, "f"), enter("m"), exit(), fexit(1)},
			tree:  []string{"call", "call > f", "call > f > m"},
		},
		{
			name: "a manual span that outlives the function it was opened in belongs to the span still open",
			// A helper that calls span-enter and returns: main > helper, main > run > work.
			steps: []step{fenter(1, "main"), fenter(2, "helper"), enter("run"), fexit(2),
				fenter(3, "work"), fexit(3), exit(), fexit(1)},
			tree: []string{"call", "call > main", "call > main > helper", "call > main > run", "call > main > run > work"},
		},
		{
			name: "the same with the minimum duration: the short helper is dropped, the long work kept",
			min:  min,
			steps: []step{fenter(1, "main"), fenter(2, "helper"), enter("run"), fexit(2),
				fenter(3, "work"), wait(30 * time.Microsecond), fexit(3), exit(), fexit(1)},
			tree: []string{"call", "call > main", "call > main > run", "call > main > run > work"},
		},
		{
			name: "the same when the helper is long enough to keep",
			min:  min,
			steps: []step{fenter(1, "main"), fenter(2, "helper"), enter("run"), wait(30 * time.Microsecond), fexit(2),
				exit(), fexit(1)},
			tree: []string{"call", "call > main", "call > main > helper", "call > main > run"},
		},
		{
			name:  "a manual span opened in a callee that ends with its caller moves below both",
			steps: []step{enter("outer"), fenter(1, "f"), fenter(2, "g"), enter("m"), fexit(1), exit(), exit()},
			tree:  []string{"call", "call > outer", "call > outer > f", "call > outer > f > g", "call > outer > m"},
		},
		{
			name:  "memory growth in a dropped span lands on the call span",
			min:   min,
			steps: []step{fenter(1, "f"), grow(2), fexit(1)},
			tree:  []string{"call [wasm.memory.grown.bytes]"},
		},
		// A short function span holds no node until it must (frame.lazy):
		// these pin that it behaves as one that has one from the start.
		{
			name:  "a kept function span is the child of the manual span it was opened in, even when that ended first",
			min:   min,
			steps: []step{enter("m"), fenter(1, "f"), exit(), wait(30 * time.Microsecond), fexit(1)},
			tree:  []string{"call", "call > m", "call > m > f"},
		},
		{
			name:  "what the guest reports in a placeholder above a short function span goes to its parent",
			min:   min,
			steps: []step{enter("a"), fenter(1, "f"), placeholder(), tag("in.p"), exit(), fexit(1), exit()},
			tree:  []string{"call", "call > a [in.p]"},
		},
		{
			name:  "the same above a long one stays in it",
			min:   min,
			steps: []step{enter("a"), fenter(1, "f"), placeholder(), tag("in.p"), exit(), wait(30 * time.Microsecond), fexit(1), exit()},
			tree:  []string{"call", "call > a", "call > a > f [in.p]"},
		},
		{
			name:  "a short function span left open is ended, with status Error, and kept",
			min:   min,
			steps: []step{enter("a"), fenter(1, "f")},
			tree:  []string{"call", "call > a", "call > a > f"},
			drops: map[dropReason]int{dropOpenSpan: 2},
		},
		{
			name:  "beyond the depth limit enters and their exits are dropped",
			depth: 2,
			steps: []step{enter("a"), enter("b"), enter("c"), enter("d"), exit(), exit(), exit(), exit()},
			tree:  []string{"call", "call > a", "call > a > b"},
			drops: map[dropReason]int{dropSpanDepth: 2},
		},
		{
			name:  "beyond the span limit manual spans are dropped",
			spans: 2,
			steps: []step{enter("a"), exit(), enter("b"), exit(), enter("c"), exit()},
			tree:  []string{"call", "call > a", "call > b"},
			drops: map[dropReason]int{dropSpanLimit: 1},
		},
		{
			name:  "unbalanced exits are reported, not applied",
			steps: []step{exit(), fexit(7), enter("a"), exit()},
			tree:  []string{"call", "call > a"},
			drops: map[dropReason]int{dropUnbalancedExit: 2},
		},
		{
			name:  "spans left open are ended, with status Error, and counted",
			min:   min,
			steps: []step{enter("a"), fenter(1, "f"), enter("m")},
			tree:  []string{"call", "call > a", "call > a > f", "call > a > f > m"},
			drops: map[dropReason]int{dropOpenSpan: 3},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			depth, spans := tc.depth, tc.spans
			if depth == 0 {
				depth = DefaultMaxSpanDepth
			}
			if spans == 0 {
				spans = DefaultMaxSpansPerCall
			}
			r := runStack(t, tc.min, depth, spans, tc.steps)
			if got := r.tree(); !slices.Equal(got, tc.tree) {
				t.Errorf("tree:\n got %q\nwant %q", got, tc.tree)
			}
			want := recordedDrops(tc.drops)
			if want == nil {
				want = recordedDrops{}
			}
			for reason, n := range want {
				if r.drops[reason] != n {
					t.Errorf("drops %v, want %v", r.drops, want)
				}
			}
			for reason, n := range r.drops {
				if want[reason] != n {
					t.Errorf("drops %v, want %v", r.drops, want)
				}
			}
			if started, ended := len(r.rec.Started()), len(r.rec.Ended()); started != ended {
				t.Errorf("%d spans started, %d ended", started, ended)
			}
		})
	}
}

// A kept function span carries its own timestamps, from the stack's clock,
// though it was started only when it ended.
func TestSpanStackDeferredTimestamps(t *testing.T) {
	r := runStack(t, 20*time.Microsecond, DefaultMaxSpanDepth, DefaultMaxSpansPerCall,
		[]step{wait(time.Millisecond), fenter(1, "f"), wait(40 * time.Microsecond), fexit(1)})
	f := r.span("f")
	start := time.Unix(1700000000, 0).Add(time.Millisecond)
	if f == nil || !f.StartTime().Equal(start) || f.EndTime().Sub(f.StartTime()) != 40*time.Microsecond {
		t.Fatalf("f: %v", f)
	}
	if f.Status().Code != codes.Unset {
		t.Errorf("status %v", f.Status())
	}
}

// Lazy frames (frame.lazy) are an optimisation only: random programs of
// guest steps, under limits that bite, record the same spans, times,
// attributes, events and drops as they do with every deferred function
// span given its node from the start.
func TestSpanStackLazyIsEager(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 3000 {
		var steps []step
		for range 1 + rng.IntN(30) {
			fn := uint32(1 + rng.IntN(4))
			switch rng.IntN(13) {
			case 0, 1:
				steps = append(steps, fenter(fn, fmt.Sprintf("f%d", fn)))
			case 2, 3:
				steps = append(steps, fexit(fn))
			case 4:
				steps = append(steps, fail(fn))
			case 5:
				steps = append(steps, enter(fmt.Sprintf("m%d", rng.IntN(3))))
			case 6:
				steps = append(steps, exit())
			case 7:
				steps = append(steps, wait([]time.Duration{time.Microsecond, 15 * time.Microsecond, 30 * time.Microsecond}[rng.IntN(3)]))
			case 8:
				steps = append(steps, tag(fmt.Sprintf("t%d", rng.IntN(3))))
			case 9:
				steps = append(steps, grow(1))
			case 10:
				steps = append(steps, placeholder())
			case 11:
				steps = append(steps, henter(fmt.Sprintf("h%d", rng.IntN(2))))
			case 12:
				steps = append(steps, hexit())
			}
		}
		lazy := runStackMode(t, 20*time.Microsecond, 6, 12, false, steps)
		eager := runStackMode(t, 20*time.Microsecond, 6, 12, true, steps)
		if got, want := lazy.detail(), eager.detail(); !slices.Equal(got, want) {
			t.Fatalf("program %d %v:\nlazy  %q\neager %q", i, steps, got, want)
		}
		if !maps.Equal(lazy.drops, eager.drops) {
			t.Fatalf("program %d %v: drops lazy %v, eager %v", i, steps, lazy.drops, eager.drops)
		}
	}
}
