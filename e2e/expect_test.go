package e2e_test

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/trace"
)

// What the demo guest (testdata/demo/main.go) reports, as the Collector
// must have received it. Durations and IDs vary from run to run; the tests
// check their relations (one trace, parent links, nesting in time,
// exemplars pointing at spans of the trace) rather than their values.

// observeScope is the instrumentation scope of the library's spans,
// metrics and log records.
const observeScope = "github.com/extism-observe/observe"

// callSpan is the name of the plugin call span: the export.
const callSpan = "_start"

// demoTree is the demo's span tree under the caller span, as paths of
// names from the call span down, in the order the spans start.
var demoTree = []string{
	"_start",
	"_start > handle_order",
	"_start > handle_order > validate",
	"_start > handle_order > validate > load_inventory",
	"_start > handle_order > price",
	"_start > handle_order > charge",
	"_start > handle_order > charge > payment_gateway",
}

// demoSpanAttrs are the attributes of each span under the caller span,
// exactly. Guest tags are strings, whatever they look like.
var demoSpanAttrs = map[string]map[string]any{
	"_start": {
		"extism.function":    "_start",
		"code.function.name": "_start",
		"extism.module":      "main_1",
		"extism.plugin.name": "demo",
		"extism.exit_code":   int64(0),
		"process.exit.code":  int64(0),
	},
	"handle_order":   {"order.id": "1042", "customer.tier": "gold"},
	"validate":       {},
	"load_inventory": {"db.system": "sqlite", "db.statement": "SELECT stock FROM inventory WHERE sku = ?"},
	"price":          {},
	"charge":         {"payment.method": "card", "payment.amount": "59.97"},
	"payment_gateway": {
		"http.method": "POST",
		"http.url":    "https://pay.example.com/v1/charges",
		"attempt":     "2",
	},
}

// demoLog is one guest log: a record of the OpenTelemetry logs, and a "log"
// event on the span that was innermost when it was logged.
type demoLog struct {
	severity plog.SeverityNumber
	text     string // severity text, and the event's log.severity
	body     string
	span     string
}

// demoLogs are the guest's logs in order; debug ones only where the
// logger keeps debug.
var demoLogs = []demoLog{
	{plog.SeverityNumberInfo, "info", "handling order 1042 for customer c-7", "handle_order"},
	{plog.SeverityNumberDebug, "debug", "subtotal 59.97, discount 0.00 (tier gold)", "price"},
	{plog.SeverityNumberWarn, "warn", "card retry", "charge"},
	{plog.SeverityNumberInfo, "info", "order 1042 charged 59.97", "handle_order"},
}

func wantLogs(debug bool) []demoLog {
	if debug {
		return demoLogs
	}
	return slices.DeleteFunc(slices.Clone(demoLogs), func(l demoLog) bool { return l.text == "debug" })
}

// callDurationBuckets are the bucket bounds of extism.call.duration.
var callDurationBuckets = []float64{
	0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
	0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
}

// gotSpan is a span as the Collector wrote it, with its resource and scope.
type gotSpan struct {
	ptrace.Span
	service string
	scope   string
}

// gotTrace is every span the Collector wrote.
type gotTrace struct {
	spans  []gotSpan
	byID   map[pcommon.SpanID]gotSpan
	byName map[string][]gotSpan
}

func collectTrace(t *testing.T, td ptrace.Traces) gotTrace {
	t.Helper()
	g := gotTrace{byID: map[pcommon.SpanID]gotSpan{}, byName: map[string][]gotSpan{}}
	for _, rs := range td.ResourceSpans().All() {
		svc := serviceName(rs.Resource())
		for _, ss := range rs.ScopeSpans().All() {
			for _, s := range ss.Spans().All() {
				gs := gotSpan{Span: s, service: svc, scope: ss.Scope().Name()}
				g.spans = append(g.spans, gs)
				g.byID[s.SpanID()] = gs
				g.byName[s.Name()] = append(g.byName[s.Name()], gs)
			}
		}
	}
	return g
}

// one returns the only span named name, or fails the test.
func (g gotTrace) one(t *testing.T, name string) gotSpan {
	t.Helper()
	s := g.byName[name]
	if len(s) != 1 {
		t.Fatalf("%d spans named %q, want 1; spans: %s", len(s), name, g.names())
	}
	return s[0]
}

func (g gotTrace) names() string {
	var n []string
	for _, s := range g.spans {
		n = append(n, s.Name())
	}
	return strings.Join(n, ", ")
}

// path is the names from the caller span's child down to s.
func (g gotTrace) path(s gotSpan, root pcommon.SpanID) string {
	names := []string{s.Name()}
	for p := s.ParentSpanID(); p != root && !p.IsEmpty(); {
		ps, ok := g.byID[p]
		if !ok {
			return "<no parent " + p.String() + "> > " + strings.Join(names, " > ")
		}
		names = append([]string{ps.Name()}, names...)
		p = ps.ParentSpanID()
	}
	return strings.Join(names, " > ")
}

func serviceName(r pcommon.Resource) string {
	v, ok := r.Attributes().Get("service.name")
	if !ok {
		return "<none>"
	}
	return v.AsString()
}

// checkDemoTrace checks the trace of one demo call: the caller span (the
// root, with its name, kind and attributes) and the demo's spans under it,
// nothing else, all in the caller's trace, each with its attributes,
// events, kind and status, nested in time, under one resource.
func checkDemoTrace(t *testing.T, g gotTrace, caller trace.SpanContext, rootName string, rootKind ptrace.SpanKind, rootAttrs map[string]any, service string, debug bool) {
	t.Helper()
	if want := len(demoTree) + 1; len(g.spans) != want {
		t.Errorf("%d spans (%s), want %d", len(g.spans), g.names(), want)
	}
	root := g.one(t, rootName)
	if got, want := root.SpanID().String(), caller.SpanID().String(); got != want {
		t.Errorf("root span %q has ID %s, want the caller's %s", rootName, got, want)
	}
	if !root.ParentSpanID().IsEmpty() {
		t.Errorf("root span %q has a parent %s", rootName, root.ParentSpanID())
	}
	if root.Kind() != rootKind {
		t.Errorf("root span kind %v, want %v", root.Kind(), rootKind)
	}
	checkAttrs(t, "root span "+rootName, root.Attributes(), rootAttrs)

	var paths []string
	for _, s := range g.spans {
		if got, want := s.TraceID().String(), caller.TraceID().String(); got != want {
			t.Errorf("span %q in trace %s, want the caller's %s", s.Name(), got, want)
		}
		if s.service != service {
			t.Errorf("span %q has service.name %q, want %q", s.Name(), s.service, service)
		}
		if s.Status().Code() != ptrace.StatusCodeUnset || s.Status().Message() != "" {
			t.Errorf("span %q status %v %q, want unset", s.Name(), s.Status().Code(), s.Status().Message())
		}
		if s.StartTimestamp() == 0 || s.EndTimestamp() < s.StartTimestamp() {
			t.Errorf("span %q runs from %v to %v", s.Name(), s.StartTimestamp(), s.EndTimestamp())
		}
		if p, ok := g.byID[s.ParentSpanID()]; ok && (s.StartTimestamp() < p.StartTimestamp() || s.EndTimestamp() > p.EndTimestamp()) {
			t.Errorf("span %q [%v, %v] is not within its parent %q [%v, %v]", s.Name(),
				s.StartTimestamp(), s.EndTimestamp(), p.Name(), p.StartTimestamp(), p.EndTimestamp())
		}
		if s.SpanID() == root.SpanID() {
			continue
		}
		paths = append(paths, g.path(s, root.SpanID()))
		if s.Kind() != ptrace.SpanKindInternal {
			t.Errorf("span %q kind %v, want internal", s.Name(), s.Kind())
		}
		if s.scope != observeScope {
			t.Errorf("span %q has scope %q, want %q", s.Name(), s.scope, observeScope)
		}
		if want, ok := demoSpanAttrs[s.Name()]; ok {
			checkAttrs(t, "span "+s.Name(), s.Attributes(), want)
		}
	}
	slices.Sort(paths)
	want := slices.Sorted(slices.Values(demoTree))
	if !slices.Equal(paths, want) {
		t.Errorf("span tree under %q:\n  %s\nwant:\n  %s", rootName, strings.Join(paths, "\n  "), strings.Join(want, "\n  "))
	}

	// The guest's logs, as events on the spans.
	wantEvents := map[string][]string{}
	for _, l := range wantLogs(debug) {
		wantEvents[l.span] = append(wantEvents[l.span], fmt.Sprintf("log log.severity=%s log.message=%s", l.text, l.body))
	}
	for _, s := range g.spans {
		var got []string
		for _, e := range s.Events().All() {
			attrs := e.Attributes().AsRaw()
			keys := slices.Sorted(maps.Keys(attrs))
			slices.Reverse(keys) // log.severity, then log.message
			ev := e.Name()
			for _, k := range keys {
				ev += fmt.Sprintf(" %s=%v", k, attrs[k])
			}
			got = append(got, ev)
			if e.Timestamp() < s.StartTimestamp() || e.Timestamp() > s.EndTimestamp() {
				t.Errorf("span %q: event %q at %v, outside the span", s.Name(), ev, e.Timestamp())
			}
		}
		if !slices.Equal(got, wantEvents[s.Name()]) {
			t.Errorf("span %q events:\n  %s\nwant:\n  %s", s.Name(), strings.Join(got, "\n  "), strings.Join(wantEvents[s.Name()], "\n  "))
		}
	}
}

func checkAttrs(t *testing.T, what string, got pcommon.Map, want map[string]any) {
	t.Helper()
	if g := got.AsRaw(); !reflect.DeepEqual(g, want) && !(len(g) == 0 && len(want) == 0) {
		t.Errorf("%s attributes:\n  %v\nwant:\n  %v", what, g, want)
	}
}

// gotMetric is a metric as the Collector wrote it.
type gotMetric struct {
	pmetric.Metric
	service string
	scope   string
}

// checkDemoMetrics checks every metric of one demo call: the guest's, the
// call metrics, and those of the batch span processor, with their values,
// units, attributes and temporality, and exemplars that point at the
// spans of the trace.
func checkDemoMetrics(t *testing.T, md pmetric.Metrics, g gotTrace, caller trace.SpanContext, service string) {
	t.Helper()
	got := map[string]gotMetric{}
	for _, rm := range md.ResourceMetrics().All() {
		svc := serviceName(rm.Resource())
		for _, sm := range rm.ScopeMetrics().All() {
			for _, m := range sm.Metrics().All() {
				if _, dup := got[m.Name()]; dup {
					t.Errorf("metric %q written more than once", m.Name())
				}
				got[m.Name()] = gotMetric{Metric: m, service: svc, scope: sm.Scope().Name()}
			}
		}
	}
	wantNames := []string{
		"extism.call.duration", "extism.call.active",
		"orders.processed", "order.total", "checkout.latency", "items.per_order",
		"observe.exporter.spans.dropped", "observe.exporter.spans.exported", "observe.exporter.errors",
	}
	if names := slices.Sorted(maps.Keys(got)); !slices.Equal(names, slices.Sorted(slices.Values(wantNames))) {
		t.Errorf("metrics %q, want %q", names, slices.Sorted(slices.Values(wantNames)))
	}
	for name, m := range got {
		if m.service != service {
			t.Errorf("metric %q has service.name %q, want %q", name, m.service, service)
		}
		wantScope := observeScope
		if strings.HasPrefix(name, "observe.exporter.") {
			wantScope = observeScope + "/exporters/batch"
		}
		if m.scope != wantScope {
			t.Errorf("metric %q has scope %q, want %q", name, m.scope, wantScope)
		}
	}
	spanOf := func(name string) pcommon.SpanID {
		if s := g.byName[name]; len(s) == 1 {
			return s[0].SpanID()
		}
		return pcommon.NewSpanIDEmpty()
	}
	// checkExemplars checks that the point has exemplars, all in the
	// caller's trace, recorded in the span named span.
	checkExemplars := func(name string, ex pmetric.ExemplarSlice, span string) {
		t.Helper()
		if ex.Len() == 0 {
			t.Errorf("metric %q: no exemplar (trace_based filter, sampled trace)", name)
		}
		for _, e := range ex.All() {
			if got, want := e.TraceID().String(), caller.TraceID().String(); got != want {
				t.Errorf("metric %q: exemplar in trace %s, want the caller's %s", name, got, want)
			}
			if got, want := e.SpanID(), spanOf(span); got != want {
				t.Errorf("metric %q: exemplar of span %s (%s), want %s (%s)", name, got, g.byID[got].Name(), want, span)
			}
		}
	}
	metric := func(name string, typ pmetric.MetricType, unit string) (pmetric.Metric, bool) {
		t.Helper()
		m, ok := got[name]
		if !ok {
			return pmetric.Metric{}, false
		}
		if m.Type() != typ || m.Unit() != unit {
			t.Errorf("metric %q: %v in %q, want %v in %q", name, m.Type(), m.Unit(), typ, unit)
			return pmetric.Metric{}, false
		}
		return m.Metric, true
	}
	onePoint := func(name string, n int, attrs map[string]any) bool {
		t.Helper()
		if n != 1 {
			t.Errorf("metric %q: %d data points, want 1", name, n)
			return false
		}
		return true
	}

	// Sums, as the SDK sends them by default: cumulative.
	sum := func(name, unit string, monotonic bool, attrs map[string]any, span string, check func(pmetric.NumberDataPoint)) {
		t.Helper()
		m, ok := metric(name, pmetric.MetricTypeSum, unit)
		if !ok {
			return
		}
		s := m.Sum()
		if s.IsMonotonic() != monotonic || s.AggregationTemporality() != pmetric.AggregationTemporalityCumulative {
			t.Errorf("metric %q: monotonic %v, %v; want %v, cumulative", name, s.IsMonotonic(), s.AggregationTemporality(), monotonic)
		}
		if !onePoint(name, s.DataPoints().Len(), attrs) {
			return
		}
		dp := s.DataPoints().At(0)
		checkAttrs(t, "metric "+name, dp.Attributes(), attrs)
		check(dp)
		if span != "" {
			checkExemplars(name, dp.Exemplars(), span)
		}
	}
	sum("orders.processed", "", true, map[string]any{"tier": "gold"}, "handle_order", func(dp pmetric.NumberDataPoint) {
		if dp.ValueType() != pmetric.NumberDataPointValueTypeDouble || dp.DoubleValue() != 1 {
			t.Errorf("orders.processed = %v %v, want double 1", dp.ValueType(), numberValue(dp))
		}
	})
	sum("extism.call.active", "{call}", false, map[string]any{"extism.plugin.name": "demo"}, callSpan, func(dp pmetric.NumberDataPoint) {
		if dp.ValueType() != pmetric.NumberDataPointValueTypeInt || dp.IntValue() != 0 {
			t.Errorf("extism.call.active = %v %v, want int 0 (the call is over)", dp.ValueType(), numberValue(dp))
		}
	})

	if m, ok := metric("order.total", pmetric.MetricTypeGauge, ""); ok && onePoint("order.total", m.Gauge().DataPoints().Len(), nil) {
		dp := m.Gauge().DataPoints().At(0)
		checkAttrs(t, "metric order.total", dp.Attributes(), nil)
		if dp.ValueType() != pmetric.NumberDataPointValueTypeDouble || dp.DoubleValue() != 59.97 {
			t.Errorf("order.total = %v %v, want double 59.97", dp.ValueType(), numberValue(dp))
		}
		checkExemplars("order.total", dp.Exemplars(), "handle_order")
	}

	// Histograms: one call, one value each.
	histogram := func(name, unit string, attrs map[string]any, span string, bounds []float64, check func(dp pmetric.HistogramDataPoint)) {
		t.Helper()
		m, ok := metric(name, pmetric.MetricTypeHistogram, unit)
		if !ok {
			return
		}
		h := m.Histogram()
		if h.AggregationTemporality() != pmetric.AggregationTemporalityCumulative {
			t.Errorf("metric %q: %v, want cumulative", name, h.AggregationTemporality())
		}
		if !onePoint(name, h.DataPoints().Len(), attrs) {
			return
		}
		dp := h.DataPoints().At(0)
		checkAttrs(t, "metric "+name, dp.Attributes(), attrs)
		if dp.Count() != 1 || !dp.HasMin() || !dp.HasMax() || dp.Min() != dp.Sum() || dp.Max() != dp.Sum() || dp.Sum() < 0 {
			t.Errorf("metric %q: count %d sum %v min %v max %v, want one value", name, dp.Count(), dp.Sum(), dp.Min(), dp.Max())
		}
		var n uint64
		for _, c := range dp.BucketCounts().All() {
			n += c
		}
		if n != 1 || dp.BucketCounts().Len() != dp.ExplicitBounds().Len()+1 {
			t.Errorf("metric %q: %d bucket counts adding up to %d for %d bounds", name, dp.BucketCounts().Len(), n, dp.ExplicitBounds().Len())
		}
		if bounds != nil && !slices.Equal(dp.ExplicitBounds().AsRaw(), bounds) {
			t.Errorf("metric %q: bounds %v, want %v", name, dp.ExplicitBounds().AsRaw(), bounds)
		}
		if check != nil {
			check(dp)
		}
		checkExemplars(name, dp.Exemplars(), span)
	}
	histogram("extism.call.duration", "s", map[string]any{"extism.function": "_start", "extism.plugin.name": "demo"}, callSpan, callDurationBuckets,
		func(dp pmetric.HistogramDataPoint) {
			call := g.byName[callSpan]
			if len(call) == 1 {
				if d := float64(call[0].EndTimestamp()-call[0].StartTimestamp()) / 1e9; dp.Sum() <= 0 || dp.Sum() > d*1.5+0.001 {
					t.Errorf("extism.call.duration %vs, the call span lasted %vs", dp.Sum(), d)
				}
			}
		})
	histogram("checkout.latency", "ms", map[string]any{"tier": "gold"}, "handle_order", nil, nil)
	histogram("items.per_order", "", nil, "handle_order", nil, func(dp pmetric.HistogramDataPoint) {
		if dp.Sum() != 3 {
			t.Errorf("items.per_order = %v, want 3", dp.Sum())
		}
	})

	// The batch span processor's own: nothing lost, every span exported.
	if m, ok := metric("observe.exporter.spans.dropped", pmetric.MetricTypeSum, "{span}"); ok {
		reasons := map[string]float64{}
		for _, dp := range m.Sum().DataPoints().All() {
			r, _ := dp.Attributes().Get("reason")
			reasons[r.AsString()] = numberValue(dp)
		}
		if want := map[string]float64{"queue_full": 0, "shutdown": 0}; !maps.Equal(reasons, want) || !m.Sum().IsMonotonic() {
			t.Errorf("observe.exporter.spans.dropped by reason %v (monotonic %v), want %v", reasons, m.Sum().IsMonotonic(), want)
		}
	}
	sum("observe.exporter.spans.exported", "{span}", true, nil, "", func(dp pmetric.NumberDataPoint) {
		if numberValue(dp) != float64(len(g.spans)) {
			t.Errorf("observe.exporter.spans.exported = %v, the Collector got %d spans", numberValue(dp), len(g.spans))
		}
	})
	sum("observe.exporter.errors", "{error}", true, nil, "", func(dp pmetric.NumberDataPoint) {
		if numberValue(dp) != 0 {
			t.Errorf("observe.exporter.errors = %v, want 0", numberValue(dp))
		}
	})
}

func numberValue(dp pmetric.NumberDataPoint) float64 {
	if dp.ValueType() == pmetric.NumberDataPointValueTypeInt {
		return float64(dp.IntValue())
	}
	return dp.DoubleValue()
}

// checkDemoLogs checks the guest's log records: each one's severity, body
// and attributes, in the caller's trace, in the span it was logged in.
func checkDemoLogs(t *testing.T, ld plog.Logs, g gotTrace, caller trace.SpanContext, service string, debug bool) {
	t.Helper()
	want := wantLogs(debug)
	var got []plog.LogRecord
	for _, rl := range ld.ResourceLogs().All() {
		svc := serviceName(rl.Resource())
		for _, sl := range rl.ScopeLogs().All() {
			for _, r := range sl.LogRecords().All() {
				got = append(got, r)
				if svc != service || sl.Scope().Name() != observeScope {
					t.Errorf("log %q from service %q scope %q, want %q, %q", r.Body().AsString(), svc, sl.Scope().Name(), service, observeScope)
				}
			}
		}
	}
	if len(got) != len(want) {
		var bodies []string
		for _, r := range got {
			bodies = append(bodies, r.SeverityText()+" "+r.Body().AsString())
		}
		t.Fatalf("%d log records (%q), want %d", len(got), bodies, len(want))
	}
	for i, r := range got {
		w := want[i]
		if r.SeverityNumber() != w.severity || r.SeverityText() != w.text || r.Body().Type() != pcommon.ValueTypeStr || r.Body().Str() != w.body {
			t.Errorf("log %d: %v %q %q, want %v %q %q", i, r.SeverityNumber(), r.SeverityText(), r.Body().AsString(), w.severity, w.text, w.body)
		}
		if got, want := r.TraceID().String(), caller.TraceID().String(); got != want {
			t.Errorf("log %q in trace %s, want the caller's %s", w.body, got, want)
		}
		if s, ok := g.byID[r.SpanID()]; !ok || s.Name() != w.span {
			t.Errorf("log %q in span %s (%q), want %q", w.body, r.SpanID(), s.Name(), w.span)
		}
		if r.Timestamp() == 0 || r.ObservedTimestamp() == 0 {
			t.Errorf("log %q: timestamp %v, observed %v", w.body, r.Timestamp(), r.ObservedTimestamp())
		}
		checkAttrs(t, "log "+w.body, r.Attributes(), map[string]any{"extism.module": "main_1", "extism.function": "_start"})
	}
}
