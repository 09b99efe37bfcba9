package batch

import (
	"context"
	"errors"
	"sync/atomic"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/extism-observe/observe/internal/conv"
)

// ScopeName is the instrumentation scope of the processor's own metrics: the
// import path of this package.
const ScopeName = "github.com/extism-observe/observe/exporters/batch"

// dropReason says why a span that ended while the processor ran was never
// given to the exporter.
type dropReason uint8

const (
	dropQueueFull dropReason = iota // the queue was full
	dropShutdown                    // Shutdown came first: a span waiting for room, or its ctx ended before the queue was exported
	numDropReasons
)

var dropReasonNames = [numDropReasons]string{
	dropQueueFull: "queue_full",
	dropShutdown:  "shutdown",
}

// String returns the reason as it appears in the reason attribute of
// observe.exporter.spans.dropped.
func (r dropReason) String() string { return dropReasonNames[r] }

// dropAttrs holds the metric attribute set of each reason, made once.
var dropAttrs = func() (a [numDropReasons]metric.ObserveOption) {
	for r := range numDropReasons {
		a[r] = metric.WithAttributeSet(attribute.NewSet(attribute.String("reason", r.String())))
	}
	return a
}()

// counts are what the processor counts, read by its metrics. The counters
// are observable: a drop costs OnEnd one atomic add, where a synchronous
// counter with an attribute costs it hundreds of nanoseconds, at the moment
// when spans are coming faster than they can be exported.
type counts struct {
	dropped  [numDropReasons]atomic.Uint64
	exported atomic.Uint64 // spans
	failed   atomic.Uint64 // exports
}

// registerMetrics makes the processor's metrics, observed from c. The
// callback is never unregistered: the final counts, those of Shutdown
// included, stay readable by a MeterProvider shut down after the
// TracerProvider, as it usually is.
func (c *counts) registerMetrics(mp metric.MeterProvider) error {
	meter := mp.Meter(ScopeName, metric.WithInstrumentationVersion(conv.Version))
	dropped, err1 := meter.Int64ObservableCounter("observe.exporter.spans.dropped",
		metric.WithDescription("Ended, sampled spans that were never given to the exporter, by reason: queue_full (the queue was full) or shutdown (Shutdown ran out of time)."),
		metric.WithUnit("{span}"))
	exported, err2 := meter.Int64ObservableCounter("observe.exporter.spans.exported",
		metric.WithDescription("Spans that the exporter accepted without error."),
		metric.WithUnit("{span}"))
	failed, err3 := meter.Int64ObservableCounter("observe.exporter.errors",
		metric.WithDescription("Exports that failed; their spans are lost."),
		metric.WithUnit("{error}"))
	if err := errors.Join(err1, err2, err3); err != nil {
		return err
	}
	_, err := meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		for r := range numDropReasons {
			o.ObserveInt64(dropped, int64(c.dropped[r].Load()), dropAttrs[r])
		}
		o.ObserveInt64(exported, int64(c.exported.Load()))
		o.ObserveInt64(failed, int64(c.failed.Load()))
		return nil
	}, dropped, exported, failed)
	return err
}
