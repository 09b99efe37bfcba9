package observe_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/extism-observe/observe"

	"github.com/extism-observe/observe/internal/conv"
)

// runOnce calls export fn once, under a request span, and returns the
// request's span context.
func (h *harness) runOnce(file, fn string, wasi bool) trace.SpanContext {
	h.t.Helper()
	p := h.plugin(file, wasi)
	return h.request(func(ctx context.Context) {
		if rc, _, err := p.CallWithContext(ctx, fn, nil); rc != 0 || err != nil {
			h.t.Fatalf("%s: rc=%d err=%v", fn, rc, err)
		}
	})
}

func memoryGrowEvents(s sdktrace.ReadOnlySpan) (out []int64) {
	for _, e := range s.Events() {
		if e.Name == conv.EventMemoryGrow {
			for _, kv := range e.Attributes {
				if kv.Key == conv.GrowBytes {
					out = append(out, kv.Value.AsInt64())
				}
			}
		}
	}
	return out
}

// The tree of instrumented.wasm's "run" with every function span kept.
// Extism initialises the reactor's runtime (_initialize) in the first call
// of an instance: that is a span inside the call it happened in.
var instrumentedTreeAll = []string{
	"request",
	"request > run",
	"request > run > _initialize",
	"request > run > _initialize > init",
	"request > run > run",
	"request > run > run > demo::a",
	"request > run > run > demo::a > demo::b",
	"request > run > run > demo::a > demo::b > c(int)",
	"request > run > run > demo::a > demo::b > c(int) > d",
	"request > run > run > grow",
	"request > run > run > long",
	"request > run > run > mixed",
	"request > run > run > mixed > manual.in.mixed",
	"request > run > run > short",
	"request > run > run > short",
}

func TestInstrumentedModuleAllFunctionSpans(t *testing.T) {
	for _, file := range []string{"instrumented.wasm", "instrumented_legacy.wasm"} {
		t.Run(file, func(t *testing.T) {
			h := newHarness(t, observe.WithMinDuration(0))
			req := h.runOnce(file, "run", true)
			if got := h.tree(req.TraceID()); !slices.Equal(got, instrumentedTreeAll) {
				t.Fatalf("tree:\n got %q\nwant %q", got, instrumentedTreeAll)
			}
			grow := h.spans0(req.TraceID(), "grow")
			if got := memoryGrowEvents(grow); !slices.Equal(got, []int64{2 << 16}) {
				t.Errorf("grow's memory.grow events %v, want one of 128 KiB", got)
			}
			if got := attrs(grow)["wasm.memory.grown.bytes"]; got != int64(2<<16) {
				t.Errorf("grow's wasm.memory.grown.bytes = %v", got)
			}
			if got := attrs(grow)["wasm.function.index"]; got != int64(14) || attrs(grow)["code.function.name"] != grow.Name() {
				t.Errorf("grow's wasm.function.index = %v, code.function.name %v", got, attrs(grow)["code.function.name"])
			}
			// Memory growth is on the innermost span and nowhere else.
			for _, s := range h.rec.Ended() {
				if s.Name() != "grow" && (len(memoryGrowEvents(s)) > 0 || attrs(s)["wasm.memory.grown.bytes"] != nil) {
					t.Errorf("memory growth also on %s", s.Name())
				}
			}
			mixed, manual := h.spans0(req.TraceID(), "mixed"), h.spans0(req.TraceID(), "manual.in.mixed")
			if got := logEvents(mixed); !slices.Equal(got, []string{"info in mixed"}) {
				t.Errorf("mixed logs %q", got)
			}
			if got := logEvents(manual); !slices.Equal(got, []string{"info in manual"}) || attrs(manual)["k"] != "v" {
				t.Errorf("manual.in.mixed logs %q attrs %v", got, attrs(manual))
			}
		})
	}
}

func TestInstrumentedModuleWithoutNames(t *testing.T) {
	h := newHarness(t, observe.WithMinDuration(0))
	req := h.runOnce("instrumented_noname.wasm", "run", true)
	want := []string{
		"request", "request > run", "request > run > _initialize", "request > run > _initialize > func[17]",
		"request > run > func[8]",
		"request > run > func[8] > func[13]", "request > run > func[8] > func[13] > manual.in.mixed",
		"request > run > func[8] > func[14]", "request > run > func[8] > func[15]", "request > run > func[8] > func[15]",
		"request > run > func[8] > func[16]", "request > run > func[8] > func[9]",
		"request > run > func[8] > func[9] > func[10]", "request > run > func[8] > func[9] > func[10] > func[11]",
		"request > run > func[8] > func[9] > func[10] > func[11] > func[12]",
	}
	if got := h.tree(req.TraceID()); !slices.Equal(got, want) {
		t.Fatalf("tree:\n got %q\nwant %q", got, want)
	}
}

// With a minimum duration, the short functions are dropped and what they
// held lands on the nearest kept ancestor. The test's minimum (10ms) sits
// far between what "long" takes (some 25ms) and what the others take (well
// under 1ms; growing memory a few ms under the race detector), so that the
// outcome does not hang on the machine's speed.
func TestMinDurationRehomesWhatDroppedSpansHeld(t *testing.T) {
	const minDuration = 10 * time.Millisecond
	h := newHarness(t, observe.WithMinDuration(minDuration))
	req := h.runOnce("instrumented.wasm", "run", true)
	want := []string{
		"request",
		"request > run", "request > run > run",
		"request > run > run > long",
		"request > run > run > manual.in.mixed",
	}
	if got := h.tree(req.TraceID()); !slices.Equal(got, want) {
		t.Fatalf("tree:\n got %q\nwant %q", got, want)
	}
	var run, fn sdktrace.ReadOnlySpan // the call span, the function span
	for _, sp := range h.rec.Ended() {
		if sp.Name() == "run" && sp.Parent().SpanID() == req.SpanID() {
			run = sp
		}
	}
	for _, sp := range h.rec.Ended() {
		if sp.Name() == "run" && sp.Parent().SpanID() == run.SpanContext().SpanID() {
			fn = sp
		}
	}
	if fn == nil {
		t.Fatal("no function span run under the call span")
	}
	long, manual := h.spans0(req.TraceID(), "long"), h.spans0(req.TraceID(), "manual.in.mixed")
	// Each keeps its own function index: a dropped span's does not move.
	if got := attrs(fn)["wasm.function.index"]; got != int64(8) {
		t.Errorf("run's wasm.function.index = %v, want 8", got)
	}
	if got := attrs(long)["wasm.function.index"]; got != int64(16) {
		t.Errorf("long's wasm.function.index = %v, want 16", got)
	}
	if long.EndTime().Sub(long.StartTime()) < minDuration {
		t.Errorf("long lasted %v", long.EndTime().Sub(long.StartTime()))
	}
	for _, sp := range []sdktrace.ReadOnlySpan{long, manual} {
		if sp.Parent().SpanID() != fn.SpanContext().SpanID() {
			t.Errorf("%s's parent is not the function span run", sp.Name())
		}
		if sp.StartTime().Before(fn.StartTime()) || sp.EndTime().After(fn.EndTime()) {
			t.Errorf("%s [%v, %v] is not inside run [%v, %v]", sp.Name(), sp.StartTime(), sp.EndTime(), fn.StartTime(), fn.EndTime())
		}
	}
	// The manual span keeps its own timestamps: it began after run did and
	// ended before long began.
	if !manual.StartTime().After(fn.StartTime()) || manual.EndTime().After(long.StartTime()) {
		t.Errorf("manual.in.mixed timestamps are not its own")
	}
	// mixed's log and grow's memory growth land on run; the manual span
	// keeps its own log and tag.
	if got := logEvents(fn); !slices.Equal(got, []string{"info in mixed"}) {
		t.Errorf("run's logs %q", got)
	}
	if got := logEvents(manual); !slices.Equal(got, []string{"info in manual"}) || attrs(manual)["k"] != "v" {
		t.Errorf("manual.in.mixed logs %q attrs %v", got, attrs(manual))
	}
	if got := memoryGrowEvents(fn); !slices.Equal(got, []int64{2 << 16}) || attrs(fn)["wasm.memory.grown.bytes"] != int64(2<<16) {
		t.Errorf("run's memory growth %v %v", got, attrs(fn)["wasm.memory.grown.bytes"])
	}
	// The log line went out at once, with the nearest span started then.
	for _, l := range h.logLines() {
		if l["message"] == "in manual" && l["span_id"] != run.SpanContext().SpanID().String() {
			t.Errorf("zerolog line in a held-back span: span_id %v, want the call span's", l["span_id"])
		}
	}
}

func TestFunctionExitMismatch(t *testing.T) {
	h := newHarness(t, observe.WithMinDuration(0))
	req := h.runOnce("instrumented.wasm", "mismatch", true)
	want := []string{
		"request", "request > mismatch", "request > mismatch > _initialize", "request > mismatch > _initialize > init",
		"request > mismatch > c(int)", "request > mismatch > c(int) > demo::b",
	}
	if got := h.tree(req.TraceID()); !slices.Equal(got, want) {
		t.Fatalf("tree:\n got %q\nwant %q", got, want)
	}
	b, c := h.spans0(req.TraceID(), "demo::b"), h.spans0(req.TraceID(), "c(int)")
	if !b.EndTime().Equal(c.EndTime()) || b.Status().Code != codes.Unset {
		t.Errorf("b should end with c, cleanly")
	}
	if d := h.dropped(); d["unbalanced_exit"] != 1 {
		t.Errorf("dropped %v, want unbalanced_exit 1", d)
	}
}

func TestFunctionSpansOnOrdinaryModule(t *testing.T) {
	t.Run("all", func(t *testing.T) {
		h := newHarness(t, observe.WithMinDuration(0), observe.WithFunctionSpans("*"))
		req := h.runOnce("plain.wasm", "run", true)
		want := []string{
			"request", "request > run", "request > run > outer", "request > run > outer > middle",
			"request > run > outer > middle > inner", "request > run > outer > middle > inner",
		}
		if got := h.tree(req.TraceID()); !slices.Equal(got, want) {
			t.Fatalf("tree:\n got %q\nwant %q", got, want)
		}
		for _, s := range h.rec.Ended() {
			if s.Name() == "inner" && !slices.Equal(logEvents(s), []string{"info in inner"}) {
				t.Errorf("inner's logs %q", logEvents(s))
			}
		}
	})
	t.Run("pattern", func(t *testing.T) {
		h := newHarness(t, observe.WithMinDuration(0), observe.WithFunctionSpans("mid*"))
		req := h.runOnce("plain.wasm", "run", true)
		if got, want := h.tree(req.TraceID()), []string{"request", "request > run", "request > run > middle"}; !slices.Equal(got, want) {
			t.Fatalf("tree %q, want %q", got, want)
		}
		if got := logEvents(h.spans(req.TraceID())["middle"]); !slices.Equal(got, []string{"info in inner", "info in inner"}) {
			t.Errorf("middle's logs %q", got)
		}
	})
	t.Run("filtered", func(t *testing.T) {
		h := newHarness(t, observe.WithMinDuration(time.Second), observe.WithFunctionSpans("*"))
		req := h.runOnce("plain.wasm", "run", true)
		if got, want := h.tree(req.TraceID()), []string{"request", "request > run"}; !slices.Equal(got, want) {
			t.Fatalf("tree %q, want %q", got, want)
		}
		if got := logEvents(h.spans(req.TraceID())["run"]); len(got) != 2 {
			t.Errorf("the call span should hold the dropped spans' logs: %q", got)
		}
	})
}

// Module start-up: a WASI command run through _start exits with
// proc_exit(0), a success; a call of another export runs the constructors
// first, which shows as a call of its own.
func TestCommandModuleStartUp(t *testing.T) {
	t.Run("_start", func(t *testing.T) {
		h := newHarness(t)
		p := h.plugin("command.wasm", true)
		req := h.request(func(ctx context.Context) {
			if rc, _, err := p.CallWithContext(ctx, "_start", nil); rc != 0 || err != nil {
				t.Fatalf("rc=%d err=%v", rc, err)
			}
		})
		if got, want := h.tree(req.TraceID()), []string{"request", "request > _start", "request > _start > ctors", "request > _start > main"}; !slices.Equal(got, want) {
			t.Fatalf("tree %q, want %q", got, want)
		}
		s := h.spans(req.TraceID())["_start"]
		if s.Status().Code != codes.Unset || attrs(s)["extism.exit_code"] != int64(0) {
			t.Errorf("_start: status %+v, attributes %v", s.Status(), attrs(s))
		}
	})
	t.Run("another export", func(t *testing.T) {
		h := newHarness(t, observe.WithMinDuration(0))
		p := h.plugin("command.wasm", true)
		req := h.request(func(ctx context.Context) {
			if rc, _, err := p.CallWithContext(ctx, "work", nil); rc != 0 || err != nil {
				t.Fatalf("rc=%d err=%v", rc, err)
			}
		})
		// Extism runs __wasm_call_ctors first, inside the call of "work".
		want := []string{"request", "request > work", "request > work > __wasm_call_ctors", "request > work > __wasm_call_ctors > ctors", "request > work > work"}
		if got := h.tree(req.TraceID()); !slices.Equal(got, want) {
			t.Fatalf("tree %q, want %q", got, want)
		}
	})
}

// Instrumenting compilers wrap every call site, calls to the Observe API's
// own imports included, and guest libraries open spans in helpers that
// return before the span ends. The trace reads the way the code runs: the
// imports are no function spans, and the manual span opened in the helper
// belongs to the span still open when the helper returns.
func TestInstrumentedSpanHelpers(t *testing.T) {
	for _, tc := range []struct {
		name string
		min  time.Duration
		want []string
	}{
		{"every function span kept", 0, []string{
			"request", "request > run", "request > run > main",
			"request > run > main > custom_span_enter", "request > run > main > run",
			"request > run > main > run > custom_span_exit", "request > run > main > run > work",
		}},
		// work lasts milliseconds; the helpers microseconds.
		{"short ones dropped", time.Millisecond, []string{
			"request", "request > run", "request > run > main", "request > run > main > run",
			"request > run > main > run > work",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, observe.WithMinDuration(tc.min))
			req := h.runOnce("helpers.wasm", "run", false)
			if got := h.tree(req.TraceID()); !slices.Equal(got, tc.want) {
				t.Fatalf("tree:\n got %q\nwant %q", got, tc.want)
			}
			main := h.spans0(req.TraceID(), "main")
			var run sdktrace.ReadOnlySpan // the manual span, not the call's
			for _, s := range h.rec.Ended() {
				if s.SpanContext().TraceID() == req.TraceID() && s.Name() == "run" && s.Parent().SpanID() == main.SpanContext().SpanID() {
					run = s
				}
			}
			if run.StartTime().Before(main.StartTime()) || run.EndTime().After(main.EndTime()) {
				t.Errorf("the manual span %v..%v is not within main %v..%v", run.StartTime(), run.EndTime(), main.StartTime(), main.EndTime())
			}
			if d := h.dropped(); len(d) != 0 {
				t.Errorf("dropped %v", d)
			}
		})
	}
}
