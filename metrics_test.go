package observe_test

import (
	"context"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// metricCalls is the input of cguest.wasm "metrics": one metric call
// for each payload.
func metricCalls(payloads ...string) []byte {
	return []byte(strings.Join(payloads, "\x00"))
}

// sums returns the data points of counter name by attribute set.
func sums(t *testing.T, m map[string]metricdata.Metrics, name string) map[attribute.Distinct]float64 {
	t.Helper()
	mm, ok := m[name]
	if !ok {
		return nil
	}
	out := map[attribute.Distinct]float64{}
	for _, dp := range mm.Data.(metricdata.Sum[float64]).DataPoints {
		out[dp.Attributes.Equivalent()] = dp.Value
	}
	return out
}

// A call reads a line of the metric its last line was of from the value
// on (recordLine): the lines of one name in a row, and the lines between
// them that are not quite of that name, record what Parse would have them
// record, with each metric call and across them.
func TestMetricLinesOfOneNameInARow(t *testing.T) {
	h := newHarness(t)
	p := h.plugin("cguest.wasm", false)
	program := metricCalls(
		"hits:1|c\nhits:1|g\nhits:2|c\nhits:x|c\nhits: 3|c\nhits:5|c|#k:v\nhitsx:2|h\nhits:4|c",
		"hits:100|c\nhits:7|ms\nother:1|c",
	)
	h.request(func(ctx context.Context) {
		if rc, _, err := p.CallWithContext(ctx, "metrics", program); rc != 0 || err != nil {
			t.Fatalf("rc=%d err=%v", rc, err)
		}
	})
	m := h.metrics()
	hits := sums(t, m, "hits")
	if got, want := hits[attribute.EmptySet().Equivalent()], 1.0+2+3+4+100; got != want {
		t.Errorf("hits = %v, want %v", got, want)
	}
	kv := attrSet(attribute.String("k", "v"))
	if got := hits[kv.Equivalent()]; got != 5 {
		t.Errorf("hits{k=v} = %v, want 5", got)
	}
	if got := sums(t, m, "other")[attribute.EmptySet().Equivalent()]; got != 1 {
		t.Errorf("other = %v, want 1", got)
	}
	if hx, ok := m["hitsx"].Data.(metricdata.Histogram[float64]); !ok || len(hx.DataPoints) != 1 || hx.DataPoints[0].Sum != 2 {
		t.Errorf("hitsx = %+v, want one histogram point of 2", m["hitsx"])
	}
	// hits:1|g and hits:7|ms are of another type than hits; hits:x|c has no number.
	if d := h.dropped(); d["bad_metric"] != 3 {
		t.Errorf("dropped %v, want bad_metric 3", d)
	}
}

// The call value is pooled: the instrument a call kept must not reach a
// later call, which may be another Observer's.
func TestMetricInstrumentStaysWithItsObserver(t *testing.T) {
	a, b := newHarness(t), newHarness(t)
	pa, pb := a.plugin("cguest.wasm", false), b.plugin("cguest.wasm", false)
	program := metricCalls("hits:1|c")
	for range 3 {
		for _, h := range []*harness{a, b} {
			p := pa
			if h == b {
				p = pb
			}
			h.request(func(ctx context.Context) {
				if rc, _, err := p.CallWithContext(ctx, "metrics", program); rc != 0 || err != nil {
					t.Fatalf("rc=%d err=%v", rc, err)
				}
			})
		}
	}
	for name, h := range map[string]*harness{"a": a, "b": b} {
		if got := sums(t, h.metrics(), "hits")[attribute.EmptySet().Equivalent()]; got != 3 {
			t.Errorf("observer %s: hits = %v, want 3", name, got)
		}
	}
}
