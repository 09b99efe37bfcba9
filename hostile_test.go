package observe_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	extism "github.com/extism/go-sdk"
	"github.com/tetratelabs/wazero"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/extism-observe/observe"
)

// heapInUse returns the live heap after a full collection.
func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// hostile runs export fn of hostile.wasm and checks what holds for every
// misdeed: the host is still standing, the heap did not grow beyond
// maxGrowth, every span started was ended, and the next call on the same
// instance is clean. It returns the span context of the request.
func (h *harness) hostile(p *extism.Plugin, fn string, maxGrowth uint64, wantErr bool) trace.SpanContext {
	h.t.Helper()
	before := heapInUse()
	req := h.request(func(ctx context.Context) {
		_, _, err := p.CallWithContext(ctx, fn, nil)
		if (err != nil) != wantErr {
			h.t.Fatalf("%s: err = %v, want error: %v", fn, err, wantErr)
		}
	})
	if grew := int64(heapInUse()) - int64(before); grew > int64(maxGrowth) {
		h.t.Errorf("%s: heap grew by %d bytes, more than %d", fn, grew, maxGrowth)
	}
	if started, ended := len(h.rec.Started()), len(h.rec.Ended()); started != ended {
		h.t.Errorf("%s: %d spans started, %d ended", fn, started, ended)
	}
	if !wantErr {
		next := h.request(func(ctx context.Context) {
			if _, _, err := p.CallWithContext(ctx, "ok", nil); err != nil {
				h.t.Fatalf("ok after %s: %v", fn, err)
			}
		})
		if got, want := h.tree(next.TraceID()), []string{"request", "request > ok", "request > ok > clean"}; !slices.Equal(got, want) {
			h.t.Errorf("the call after %s is not clean: %q", fn, got)
		}
	}
	return req
}

const mib = 1 << 20

// TestHostile runs each misdeed of hostile.wasm that the call survives:
// the checks every misdeed shares are in harness.hostile; each case adds
// what it drops, exactly, and what it must leave in the trace and the log.
func TestHostile(t *testing.T) {
	for _, tc := range []struct {
		name, fn  string
		maxGrowth uint64
		drops     map[string]int64 // observe.dropped by reason, exactly
		check     func(t *testing.T, h *harness, req trace.SpanContext)
	}{
		{
			name: "EdgesOfMemory", fn: "ptr_edges", maxGrowth: 1 * mib,
			// 4 bad span names, 1 bad log, 1 bad metric, 2 pointers above 32 bits.
			drops: map[string]int64{"bad_memory": 8},
			check: func(t *testing.T, h *harness, req trace.SpanContext) {
				// The last 4 bytes of memory and the empty name are valid;
				// every other enter is dropped, and its exit with it.
				want := []string{"request", "request > ptr_edges", "request > ptr_edges > \x00\x00\x00\x00", "request > ptr_edges > (unnamed)"}
				if got := h.tree(req.TraceID()); !slices.Equal(got, want) {
					t.Errorf("tree %q, want %q", got, want)
				}
				if got := attrs(h.spans0(req.TraceID(), "ptr_edges"))["observe.dropped.bad_memory"]; got != int64(8) {
					t.Errorf("call span observe.dropped.bad_memory = %v", got)
				}
			},
		},
		{
			name: "UnbalancedExits", fn: "exits", maxGrowth: 1 * mib,
			drops: map[string]int64{"unbalanced_exit": 10000},
			check: func(t *testing.T, h *harness, _ trace.SpanContext) {
				// Counted every time, logged within the rate limit only.
				var logged int
				for _, l := range h.logLines() {
					if l["reason"] == "unbalanced_exit" {
						logged++
					}
				}
				if logged == 0 || logged > 10 {
					t.Errorf("%d log lines for 10000 unbalanced exits, want 1..10", logged)
				}
			},
		},
		{
			name: "MillionNestedSpans", fn: "deep", maxGrowth: 8 * mib,
			drops: map[string]int64{"span_depth": 1000000 - observe.DefaultMaxSpanDepth, "open_span": observe.DefaultMaxSpanDepth},
			check: func(t *testing.T, h *harness, req trace.SpanContext) {
				var open int
				for _, s := range h.rec.Ended() {
					if s.SpanContext().TraceID() == req.TraceID() && s.Name() == "d" {
						open++
						if s.Status().Code != codes.Error {
							t.Fatalf("span left open has status %v", s.Status())
						}
					}
				}
				if open != observe.DefaultMaxSpanDepth {
					t.Errorf("%d spans, want the depth limit %d", open, observe.DefaultMaxSpanDepth)
				}
			},
		},
		{
			name: "MillionSpans", fn: "many", maxGrowth: 64 * mib,
			drops: map[string]int64{"span_limit": 1000000 - observe.DefaultMaxSpansPerCall},
			check: func(t *testing.T, h *harness, req trace.SpanContext) {
				var n int
				for _, s := range h.rec.Ended() {
					if s.SpanContext().TraceID() == req.TraceID() && s.Name() == "d" {
						n++
					}
				}
				if n != observe.DefaultMaxSpansPerCall {
					t.Errorf("%d spans, want the limit %d", n, observe.DefaultMaxSpansPerCall)
				}
			},
		},
		{
			name: "MillionTags", fn: "tags", maxGrowth: 1 * mib,
			drops: map[string]int64{"tag_limit": 1000000 - observe.DefaultMaxTagsPerCall},
			check: func(t *testing.T, h *harness, req trace.SpanContext) {
				if got := attrs(h.spans0(req.TraceID(), "d")); len(got) != 1 || got["k"] != "v" {
					t.Errorf("attributes %v", got)
				}
			},
		},
		{
			name: "MegabyteStrings", fn: "big", maxGrowth: 4 * mib,
			drops: map[string]int64{"truncated": 4},
			check: func(t *testing.T, h *harness, req trace.SpanContext) {
				var big sdktrace.ReadOnlySpan
				for _, s := range h.rec.Ended() {
					if s.SpanContext().TraceID() == req.TraceID() && s.Parent().IsValid() && s.Name() != "big" && s.Name() != "request" {
						big = s
					}
				}
				if big == nil || len(big.Name()) != observe.DefaultMaxStringBytes || attrs(big)["observe.truncated"] != true {
					t.Fatalf("megabyte span name not cut to %d bytes and marked", observe.DefaultMaxStringBytes)
				}
				for _, l := range h.logLines() {
					if l["level"] == "info" {
						if msg := l["message"].(string); len(msg) != observe.DefaultMaxStringBytes || l["truncated"] != true {
							t.Errorf("log message of %d bytes, truncated=%v", len(msg), l["truncated"])
						}
					}
				}
			},
		},
		{
			name: "Text", fn: "evil_text", maxGrowth: 1 * mib,
			drops: map[string]int64{"bad_metric": 7},
			check: func(t *testing.T, h *harness, req trace.SpanContext) {
				// Invalid UTF-8 is replaced (OTLP would reject the whole batch); the
				// rest is kept as the guest wrote it: escaping is the job of whatever
				// displays it (zerolog's JSON, exporters/stdout).
				const name = "evil\x1b[2J\x00\uFFFD\"\\\n"
				var evil sdktrace.ReadOnlySpan
				for _, s := range h.rec.Ended() {
					if s.SpanContext().TraceID() == req.TraceID() && s.Name() == name {
						evil = s
					}
				}
				if evil == nil {
					t.Fatalf("no span named %q in %q", name, h.tree(req.TraceID()))
				}
				if got := attrs(evil); got["k\x1b[31m"] != "v\uFFFD\x00" || got["\"q\""] != "\\n" {
					t.Errorf("attributes %q", got)
				}
				// Every zerolog line is valid JSON (logLines fails otherwise), and the
				// message is the text, sanitised the same way.
				var msgs []string
				for _, l := range h.logLines() {
					if l["level"] == "info" {
						msgs = append(msgs, l["message"].(string))
					}
				}
				if !slices.Equal(msgs, []string{name}) {
					t.Errorf("log messages %q", msgs)
				}
				// Only the one good metric line is recorded; the rest are named in the
				// error logs, escaped.
				m := h.metrics()
				if v := m["good.line"].Data.(metricdata.Sum[float64]).DataPoints[0].Value; v != 2 {
					t.Errorf("good.line = %v", v)
				}
				for name := range m {
					if name != "good.line" && name != "observe.dropped" && !strings.HasPrefix(name, "extism.") {
						t.Errorf("metric %q recorded", name)
					}
				}
				for _, l := range h.logLines() {
					if d, _ := l["detail"].(string); strings.ContainsAny(d, "\x1b\x00\n") {
						t.Errorf("detail %q carries control characters", d)
					}
				}
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			p := h.plugin("hostile.wasm", false)
			req := h.hostile(p, tc.fn, tc.maxGrowth, false)
			if d := h.dropped(); !maps.Equal(d, tc.drops) {
				t.Errorf("dropped %v, want %v", d, tc.drops)
			}
			tc.check(t, h, req)
		})
	}
}

func TestHostileTraps(t *testing.T) {
	for _, tc := range []struct{ fn, trap string }{
		{"trap_unreachable", "unreachable"},
		{"trap_div0", "integer divide by zero"},
		{"trap_oob", "out of bounds memory access"},
	} {
		t.Run(tc.fn, func(t *testing.T) {
			h := newHarness(t, observe.WithMinDuration(0))
			p := h.plugin("hostile.wasm", false)
			req := h.hostile(p, tc.fn, 1*mib, true)
			var n int
			for _, s := range h.rec.Ended() {
				if s.SpanContext().TraceID() != req.TraceID() || s.Name() == "request" {
					continue
				}
				n++
				if s.Status().Code != codes.Error || !strings.Contains(s.Status().Description, tc.trap) {
					t.Errorf("%s: status %+v, want an error naming %q", s.Name(), s.Status(), tc.trap)
				}
			}
			if n < 3 {
				t.Errorf("%d spans, want the call and its open spans", n)
			}
			// Logged, with the trace, and counted.
			var logged bool
			for _, l := range h.logLines() {
				if l["level"] == "warn" && l["message"] == "observe: plugin call failed" &&
					l["error.type"] == "trap" && l["trace_id"] == req.TraceID().String() {
					logged = true
				}
			}
			if !logged {
				t.Errorf("the failed call was not logged: %v", h.logLines())
			}
			if d := h.dropped(); d["open_span"] < 2 {
				t.Errorf("dropped %v, want the open spans counted", d)
			}
			// The trap leaves the instance usable for Extism; so is our state.
			next := h.request(func(ctx context.Context) { p.CallWithContext(ctx, "ok", nil) })
			if got := h.tree(next.TraceID()); !slices.Equal(got, []string{"request", "request > ok", "request > ok > clean"}) {
				t.Errorf("after the trap: %q", got)
			}
		})
	}
}

func TestHostileEndlessLoop(t *testing.T) {
	t.Run("manifest timeout", func(t *testing.T) {
		h := newHarness(t)
		m := manifest(t, "hostile.wasm")
		m.Timeout = 50 // ms
		p, err := extism.NewPlugin(h.obs.Context(context.Background()), m, extism.PluginConfig{}, h.obs.HostFunctions())
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close(context.Background())
		h.checkStopped(p, context.Background())
	})
	t.Run("cancelled ctx", func(t *testing.T) {
		h := newHarness(t)
		cfg := extism.PluginConfig{RuntimeConfig: wazeroCloseOnDone()}
		p, err := extism.NewPlugin(h.obs.Context(context.Background()), manifest(t, "hostile.wasm"), cfg, h.obs.HostFunctions())
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close(context.Background())
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(50*time.Millisecond, cancel)
		h.checkStopped(p, ctx)
	})
}

// checkStopped runs the endless loop with ctx and checks that the call ends
// in error, its spans ended with it.
func (h *harness) checkStopped(p *extism.Plugin, ctx context.Context) {
	h.t.Helper()
	var callErr error
	req := h.request(func(rctx context.Context) {
		ctx := trace.ContextWithSpan(ctx, trace.SpanFromContext(rctx))
		_, _, callErr = p.CallWithContext(ctx, "spin", nil)
	})
	if callErr == nil {
		h.t.Fatal("the endless loop returned without error")
	}
	var logged bool
	for _, l := range h.logLines() {
		if l["level"] == "warn" && strings.Contains(l["message"].(string), "plugin call failed") {
			logged = true
		}
	}
	if !logged {
		h.t.Errorf("the stopped call was not logged: %v", h.logLines())
	}
	if d := h.dropped(); d["open_span"] != 1 {
		h.t.Errorf("dropped %v, want the open span counted", d)
	}
	if started, ended := len(h.rec.Started()), len(h.rec.Ended()); started != ended {
		h.t.Errorf("%d spans started, %d ended", started, ended)
	}
	for _, name := range []string{"spin"} {
		var found int
		for _, s := range h.rec.Ended() {
			if s.SpanContext().TraceID() == req.TraceID() && s.Name() == name {
				found++
				if s.Status().Code != codes.Error {
					h.t.Errorf("%s status %+v", name, s.Status())
				}
			}
		}
		if found != 2 { // the call span and the guest span share the name
			h.t.Errorf("%d spans named %s, want 2", found, name)
		}
	}
	var exitErr interface{ ExitCode() uint32 }
	if !errors.As(callErr, &exitErr) {
		h.t.Logf("call error %v (%T)", callErr, callErr)
	}
	_ = fmt.Sprint(exitErr)
}

func wazeroCloseOnDone() wazero.RuntimeConfig {
	return wazero.NewRuntimeConfig().WithCloseOnContextDone(true)
}

// A function's name is the guest's to write. One the demangler panicked on
// (FuzzDisplayName found it) names its span as it is, both where function
// spans are picked, as the plugin is created, and where a span is named.
func TestHostileFunctionName(t *testing.T) {
	h := newHarness(t, observe.WithFunctionSpans("*"), observe.WithMinDuration(0))
	p := h.plugin("hostile.wasm", false)
	req := h.request(func(ctx context.Context) {
		if _, err := call(t, p, ctx, "bad_name"); err != nil {
			t.Fatal(err)
		}
	})
	if got, want := h.tree(req.TraceID()), []string{"request", "request > bad_name", "request > bad_name > _ZW1A"}; !slices.Equal(got, want) {
		t.Errorf("tree %q, want %q", got, want)
	}
}
