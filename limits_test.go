package observe_test

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel/trace"

	"github.com/extism-observe/observe"
)

// Each limit, at its edge: exactly the limit is kept whole, one less drops
// exactly the excess.
func TestLimitsAtTheirEdges(t *testing.T) {
	type outcome struct {
		spans   int   // spans in the request's trace, request and call included
		dropped int64 // observe.dropped for reason
	}
	for _, tc := range []struct {
		name   string
		limits observe.Limits
		fn     string
		reason string
		want   outcome
	}{
		{"depth at", observe.Limits{MaxSpanDepth: 2}, "run", "span_depth", outcome{4, 0}},
		{"depth below", observe.Limits{MaxSpanDepth: 1}, "run", "span_depth", outcome{3, 1}},
		{"spans at", observe.Limits{MaxSpansPerCall: 50}, "burst", "span_limit", outcome{52, 0}},
		{"spans below", observe.Limits{MaxSpansPerCall: 49}, "burst", "span_limit", outcome{51, 1}},
		{"bytes at", observe.Limits{MaxStringBytes: len("handle_request")}, "run", "truncated", outcome{4, 5}}, // the tags, two logs and two metric payloads are longer
		{"tags at", observe.Limits{MaxTagsPerCall: 4}, "run", "tag_limit", outcome{4, 0}},
		{"tags below", observe.Limits{MaxTagsPerCall: 3}, "run", "tag_limit", outcome{4, 1}},
		{"metric names at", observe.Limits{MaxMetricNames: 6}, "run", "metric_limit", outcome{4, 0}},
		{"metric names below", observe.Limits{MaxMetricNames: 5}, "run", "metric_limit", outcome{4, 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, observe.WithLimits(tc.limits))
			p := h.plugin("cguest.wasm", false)
			req := h.request(func(ctx context.Context) {
				if _, err := call(t, p, ctx, tc.fn); err != nil {
					t.Fatal(err)
				}
			})
			got := outcome{len(h.tree(req.TraceID())), h.dropped()[tc.reason]}
			if got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
	t.Run("bytes: the name at the limit is whole, one byte over is cut", func(t *testing.T) {
		for _, n := range []int{len("handle_request"), len("handle_request") - 1} {
			h := newHarness(t, observe.WithLimits(observe.Limits{MaxStringBytes: n}))
			p := h.plugin("cguest.wasm", false)
			req := h.request(func(ctx context.Context) { call(t, p, ctx, "run") })
			name := "handle_request"[:n]
			s := h.spans0(req.TraceID(), name)
			if truncated := attrs(s)["observe.truncated"] == true; truncated != (n < len("handle_request")) {
				t.Errorf("limit %d: %q truncated=%v", n, name, truncated)
			}
		}
	})
}

func TestUntrustedGuests(t *testing.T) {
	h := newHarness(t, observe.WithUntrustedGuests())
	p := h.plugin("cguest.wasm", false)
	req := h.request(func(ctx context.Context) {
		if _, err := call(t, p, ctx, "run"); err != nil {
			t.Fatal(err)
		}
	})
	// The caller's trace holds the request and the host's call span only.
	if got := h.tree(req.TraceID()); len(got) != 2 || got[1] != "request > run" {
		t.Fatalf("caller's trace: %q", got)
	}
	call := h.spans(req.TraceID())["run"]
	if attrs(call)["extism.function"] != "run" {
		t.Errorf("call span attributes %v", attrs(call))
	}
	// The guest's spans are in a trace of their own, linked both ways.
	var root trace.SpanContext
	for _, s := range h.rec.Ended() {
		if s.Name() == "run (guest)" {
			root = s.SpanContext()
			if s.Parent().IsValid() || len(s.Links()) != 1 || !s.Links()[0].SpanContext.Equal(call.SpanContext()) {
				t.Errorf("guest root: parent %v, links %v", s.Parent(), s.Links())
			}
		}
	}
	if !root.IsValid() || root.TraceID() == req.TraceID() {
		t.Fatalf("no guest trace of its own")
	}
	if l := call.Links(); len(l) != 1 || !l[0].SpanContext.Equal(root) {
		t.Errorf("call span links %v", l)
	}
	want := []string{"run (guest)", "run (guest) > handle_request", "run (guest) > handle_request > db.query"}
	if got := h.tree(root.TraceID()); len(got) != 3 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Errorf("guest trace %q, want %q", got, want)
	}
	// Every guest tag is namespaced.
	hr := h.spans0(root.TraceID(), "handle_request")
	if a := attrs(hr); a["guest.http.method"] != "GET" || a["http.method"] != nil || a["guest.cached"] != true {
		t.Errorf("guest tags %v", a)
	}
}

func TestGuestCannotForgeLibraryAttributes(t *testing.T) {
	h := newHarness(t)
	p := h.plugin("hostile.wasm", false)
	req := h.request(func(ctx context.Context) {
		if _, _, err := p.CallWithContext(ctx, "forge", nil); err != nil {
			t.Fatal(err)
		}
	})
	call := h.spans(req.TraceID())["forge"]
	a := attrs(call)
	if a["extism.function"] != "forge" || a["guest.extism.function"] != "evil" || a["guest.observe.dropped.bad_memory"] != "0" || a["ok"] != "fine" {
		t.Errorf("call span attributes %v", a)
	}
}
