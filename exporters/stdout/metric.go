package stdout

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// MetricExporter is an [sdkmetric.Exporter] that prints one line per data
// point: the metric's name, its kind (counter, updowncounter, gauge or
// histogram), its value (for a histogram: count, sum, min and max), its
// unit and the point's attributes sorted by key:
//
//	guest.requests counter 3 {request} method=GET
//	guest.latency histogram count=3 sum=12.5 min=1 max=8 ms route=/users
//
// It uses the SDK's default temporality (cumulative) and aggregation, so
// counters show their totals since start. Points of one metric are sorted
// by their attributes. Names, units and attributes are escaped as
// [SpanExporter] escapes span text.
//
// A MetricExporter is safe for concurrent use.
type MetricExporter struct {
	cfg   config
	color bool

	mu      sync.Mutex
	stopped bool
}

var _ sdkmetric.Exporter = (*MetricExporter)(nil)

// NewMetricExporter returns a MetricExporter configured by opts. Give it to
// a reader, such as [sdkmetric.NewPeriodicReader].
func NewMetricExporter(opts ...Option) *MetricExporter {
	cfg := newConfig(opts)
	return &MetricExporter{cfg: cfg, color: cfg.useColor()}
}

// Temporality returns [sdkmetric.DefaultTemporalitySelector]'s choice.
func (e *MetricExporter) Temporality(k sdkmetric.InstrumentKind) metricdata.Temporality {
	return sdkmetric.DefaultTemporalitySelector(k)
}

// Aggregation returns [sdkmetric.DefaultAggregationSelector]'s choice.
func (e *MetricExporter) Aggregation(k sdkmetric.InstrumentKind) sdkmetric.Aggregation {
	return sdkmetric.DefaultAggregationSelector(k)
}

// Export prints the data points of rm. After Shutdown it returns
// [sdkmetric.ErrExporterShutdown].
func (e *MetricExporter) Export(ctx context.Context, rm *metricdata.ResourceMetrics) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.stopped {
		return sdkmetric.ErrExporterShutdown
	}
	if rm == nil {
		return nil
	}
	// The SDK gives scopes in no fixed order; sort them so that output is.
	scopes := slices.Clone(rm.ScopeMetrics)
	slices.SortStableFunc(scopes, func(a, b metricdata.ScopeMetrics) int {
		return cmp.Or(cmp.Compare(a.Scope.Name, b.Scope.Name), cmp.Compare(a.Scope.Version, b.Scope.Version))
	})
	p := &printer{color: e.color}
	for _, sm := range scopes {
		for _, m := range sm.Metrics {
			printMetric(p, m)
		}
	}
	if len(p.b) == 0 {
		return nil
	}
	if _, err := e.cfg.w.Write(p.b); err != nil {
		return fmt.Errorf("stdout: write metrics: %w", err)
	}
	return nil
}

// ForceFlush only reports ctx's error: Export writes everything before it
// returns.
func (e *MetricExporter) ForceFlush(ctx context.Context) error {
	return ctx.Err()
}

// Shutdown stops the exporter: later calls to Export return an error.
func (e *MetricExporter) Shutdown(ctx context.Context) error {
	e.mu.Lock()
	e.stopped = true
	e.mu.Unlock()
	return nil
}

// point is one data point, ready to print.
type point struct {
	attrs []attribute.KeyValue
	key   string // attrs as printed without colour, to sort by
	value func(b []byte) []byte
}

func printMetric(p *printer, m metricdata.Metrics) {
	var kind string
	var pts []point
	switch d := m.Data.(type) {
	case metricdata.Sum[int64]:
		kind, pts = sumKind(d.IsMonotonic), numberPoints(d.DataPoints)
	case metricdata.Sum[float64]:
		kind, pts = sumKind(d.IsMonotonic), numberPoints(d.DataPoints)
	case metricdata.Gauge[int64]:
		kind, pts = "gauge", numberPoints(d.DataPoints)
	case metricdata.Gauge[float64]:
		kind, pts = "gauge", numberPoints(d.DataPoints)
	case metricdata.Histogram[int64]:
		kind, pts = "histogram", histogramPoints(d.DataPoints)
	case metricdata.Histogram[float64]:
		kind, pts = "histogram", histogramPoints(d.DataPoints)
	case metricdata.ExponentialHistogram[int64]:
		kind, pts = "histogram", expHistogramPoints(d.DataPoints)
	case metricdata.ExponentialHistogram[float64]:
		kind, pts = "histogram", expHistogramPoints(d.DataPoints)
	case metricdata.Summary:
		kind = "summary"
		for _, dp := range d.DataPoints {
			pts = append(pts, newPoint(dp.Attributes, func(b []byte) []byte {
				b = append(b, "count="...)
				b = strconv.AppendUint(b, dp.Count, 10)
				b = append(b, " sum="...)
				return appendFloat(b, dp.Sum)
			}))
		}
	default:
		return // a kind newer than this code
	}
	slices.SortStableFunc(pts, func(a, b point) int { return cmp.Compare(a.key, b.key) })
	for _, pt := range pts {
		p.text(styleBold, m.Name, maxTextRunes)
		p.b = append(p.b, ' ')
		p.raw(styleDim, kind)
		p.b = append(p.b, ' ')
		p.b = pt.value(p.b)
		if m.Unit != "" {
			p.b = append(p.b, ' ')
			p.open(styleDim)
			p.b = appendQuotedIfNeeded(p.b, m.Unit, maxTextRunes, unitDelims)
			p.close()
		}
		p.attrs(pt.attrs)
		p.b = append(p.b, '\n')
	}
}

func sumKind(monotonic bool) string {
	if monotonic {
		return "counter"
	}
	return "updowncounter"
}

func newPoint(set attribute.Set, value func([]byte) []byte) point {
	attrs := set.ToSlice()
	plain := &printer{}
	plain.attrs(attrs)
	return point{attrs: attrs, key: string(plain.b), value: value}
}

func numberPoints[N int64 | float64](dps []metricdata.DataPoint[N]) []point {
	pts := make([]point, 0, len(dps))
	for _, dp := range dps {
		pts = append(pts, newPoint(dp.Attributes, func(b []byte) []byte {
			return appendNumber(b, dp.Value)
		}))
	}
	return pts
}

func histogramPoints[N int64 | float64](dps []metricdata.HistogramDataPoint[N]) []point {
	pts := make([]point, 0, len(dps))
	for _, dp := range dps {
		pts = append(pts, newPoint(dp.Attributes, func(b []byte) []byte {
			return appendHistogram(b, dp.Count, dp.Sum, dp.Min, dp.Max)
		}))
	}
	return pts
}

func expHistogramPoints[N int64 | float64](dps []metricdata.ExponentialHistogramDataPoint[N]) []point {
	pts := make([]point, 0, len(dps))
	for _, dp := range dps {
		pts = append(pts, newPoint(dp.Attributes, func(b []byte) []byte {
			return appendHistogram(b, dp.Count, dp.Sum, dp.Min, dp.Max)
		}))
	}
	return pts
}

func appendHistogram[N int64 | float64](b []byte, count uint64, sum N, lo, hi metricdata.Extrema[N]) []byte {
	b = append(b, "count="...)
	b = strconv.AppendUint(b, count, 10)
	b = append(b, " sum="...)
	b = appendNumber(b, sum)
	if v, ok := lo.Value(); ok {
		b = append(b, " min="...)
		b = appendNumber(b, v)
	}
	if v, ok := hi.Value(); ok {
		b = append(b, " max="...)
		b = appendNumber(b, v)
	}
	return b
}

func appendNumber[N int64 | float64](b []byte, v N) []byte {
	switch v := any(v).(type) {
	case int64:
		return strconv.AppendInt(b, v, 10)
	case float64:
		return appendFloat(b, v)
	}
	return b
}
