package stdout

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

func TestMetricExporter(t *testing.T) {
	ctx := context.Background()
	var buf bytes.Buffer
	exp := NewMetricExporter(WithWriter(&buf))
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(
		sdkmetric.WithReader(reader),
		sdkmetric.WithView(sdkmetric.NewView(
			sdkmetric.Instrument{Name: "exp.latency"},
			sdkmetric.Stream{Aggregation: sdkmetric.AggregationBase2ExponentialHistogram{MaxSize: 160, MaxScale: 20}},
		)),
	)
	defer mp.Shutdown(ctx)
	meter := mp.Meter("test")

	up, _ := meter.Int64UpDownCounter("queue.depth")
	up.Add(ctx, 5)
	up.Add(ctx, -7)

	fc, _ := meter.Float64Counter("bytes.sent", metric.WithUnit("By"))
	for _, peer := range []string{"c", "a", "b"} {
		fc.Add(ctx, 1.5, metric.WithAttributes(attribute.String("peer", peer)))
	}

	g, _ := meter.Float64Gauge("temperature", metric.WithUnit("Cel"))
	g.Record(ctx, -3.25, metric.WithAttributes(attribute.String("room", "lab 2")))

	h, _ := meter.Int64Histogram("exp.latency", metric.WithUnit("ms"))
	h.Record(ctx, 4)
	h.Record(ctx, 2)

	evil, _ := meter.Int64Counter("evil\x1b[2J\r\nname", metric.WithUnit("m s\x1b"))
	evil.Add(ctx, 1, metric.WithAttributes(attribute.String("k\x9b", "v\u202e")))

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &rm); err != nil {
		t.Fatal(err)
	}
	if err := exp.Export(ctx, &rm); err != nil {
		t.Fatal(err)
	}
	want := `queue.depth updowncounter -2
bytes.sent counter 1.5 By peer=a
bytes.sent counter 1.5 By peer=b
bytes.sent counter 1.5 By peer=c
temperature gauge -3.25 Cel room="lab 2"
exp.latency histogram count=2 sum=6 min=2 max=4 ms
evil\x1b[2J\r\nname counter 1 "m s\x1b" "k` + "\uFFFD" + `"="v\u202e"
`
	if got := buf.String(); got != want {
		t.Errorf("output:\n%s\nwant:\n%s", got, want)
	}
	checkSafe(t, buf.String())

	if err := exp.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := exp.Export(ctx, &rm); !errors.Is(err, sdkmetric.ErrExporterShutdown) {
		t.Errorf("Export after Shutdown = %v, want %v", err, sdkmetric.ErrExporterShutdown)
	}
}

func TestMetricExporterSummaryAndEmpty(t *testing.T) {
	ctx := context.Background()
	var buf bytes.Buffer
	exp := NewMetricExporter(WithWriter(&buf), WithColor(true))
	if err := exp.Export(ctx, &metricdata.ResourceMetrics{}); err != nil {
		t.Fatal(err)
	}
	if err := exp.Export(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if buf.Len() != 0 {
		t.Errorf("empty export wrote %q", buf.String())
	}
	rm := &metricdata.ResourceMetrics{ScopeMetrics: []metricdata.ScopeMetrics{{
		Metrics: []metricdata.Metrics{{
			Name: "rpc.duration",
			Data: metricdata.Summary{DataPoints: []metricdata.SummaryDataPoint{{
				Attributes: attribute.NewSet(attribute.String("method", "get")),
				Count:      3, Sum: 0.75,
			}}},
		}},
	}}}
	if err := exp.Export(ctx, rm); err != nil {
		t.Fatal(err)
	}
	want := styleBold + "rpc.duration" + styleReset + " " + styleDim + "summary" + styleReset +
		" count=3 sum=0.75 " + styleCyan + "method" + styleReset + "=get\n"
	if got := buf.String(); got != want {
		t.Errorf("output:\n%q\nwant:\n%q", got, want)
	}
}

func TestMetricExporterSelectors(t *testing.T) {
	exp := NewMetricExporter()
	for _, k := range []sdkmetric.InstrumentKind{sdkmetric.InstrumentKindCounter, sdkmetric.InstrumentKindHistogram, sdkmetric.InstrumentKindGauge} {
		if got, want := exp.Temporality(k), sdkmetric.DefaultTemporalitySelector(k); got != want {
			t.Errorf("Temporality(%v) = %v, want %v", k, got, want)
		}
		if got, want := exp.Aggregation(k), sdkmetric.DefaultAggregationSelector(k); !reflect.DeepEqual(got, want) {
			t.Errorf("Aggregation(%v) = %v, want %v", k, got, want)
		}
	}
}
