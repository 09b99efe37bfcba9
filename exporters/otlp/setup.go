package otlp

import (
	"os"

	"github.com/extism-observe/observe/exporters/batch"
	"github.com/extism-observe/observe/exporters/stdout"
	"go.opentelemetry.io/otel/exporters/stdout/stdoutlog"

	"context"
	"errors"
	"fmt"

	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// Providers are the OpenTelemetry SDK providers that [Setup] made, each
// exporting over OTLP, or to stdout where OTEL_<SIGNAL>_EXPORTER says
// console. None is nil: a provider whose signal is turned off (by the
// [Jaeger] preset or OTEL_<SIGNAL>_EXPORTER=none) exports nothing.
type Providers struct {
	// TracerProvider batches finished spans and exports them.
	TracerProvider *sdktrace.TracerProvider
	// MeterProvider exports the metrics it aggregates on the interval of
	// OTEL_METRIC_EXPORT_INTERVAL (default 60 s), and on ForceFlush and
	// Shutdown.
	MeterProvider *sdkmetric.MeterProvider
	// LoggerProvider batches log records, emitted through the OpenTelemetry
	// log API or a bridge to it, and exports them.
	LoggerProvider *sdklog.LoggerProvider
}

// Setup makes a TracerProvider, a MeterProvider and a LoggerProvider that
// export over OTLP as the options and the standard environment variables
// say (see the package documentation), sharing one resource.
//
// Setup does not install them as the OpenTelemetry globals; pass them
// where they are needed, or install them:
//
//	otel.SetTracerProvider(p.TracerProvider)
//	otel.SetMeterProvider(p.MeterProvider)
//	global.SetLoggerProvider(p.LoggerProvider) // go.opentelemetry.io/otel/log/global
//
// Setup does not connect: an unreachable endpoint shows up as export errors
// later, reported to [go.opentelemetry.io/otel.Handle]. It fails on options
// or environment variables it cannot use. Call [Providers.Shutdown] when the
// program ends, or the telemetry still buffered is lost.
func Setup(ctx context.Context, opts ...Option) (*Providers, error) {
	c := newConfig(opts)
	res, err := c.newResource(ctx)
	if err != nil {
		return nil, err
	}

	var (
		targets [numSignals]target
		enabled [numSignals]bool // over OTLP
		console [numSignals]bool
	)
	for s := range numSignals {
		kinds, err := envExporters(s)
		if err != nil {
			return nil, err
		}
		console[s] = kinds.console
		if enabled[s] = kinds.otlp && c.accepts(s); !enabled[s] {
			continue
		}
		if targets[s], err = c.target(s); err != nil {
			return nil, err
		}
	}

	// The exporters are made first, so that a failure leaves no provider
	// running.
	var (
		spanExp   sdktrace.SpanExporter
		metricExp sdkmetric.Exporter
		logExp    sdklog.Exporter
		made      []interface{ Shutdown(context.Context) error }
	)
	for s := range numSignals {
		if !enabled[s] {
			continue
		}
		var exp interface{ Shutdown(context.Context) error }
		switch s {
		case traces:
			spanExp, err = newTraceExporter(ctx, targets[s])
			exp = spanExp
		case metrics:
			metricExp, err = newMetricExporter(ctx, targets[s])
			exp = metricExp
		case logs:
			logExp, err = newLogExporter(ctx, targets[s])
			exp = logExp
		}
		if err != nil {
			for _, e := range made {
				_ = e.Shutdown(ctx) // nothing was exported yet: nothing to lose
			}
			return nil, fmt.Errorf("otlp: %s exporter: %w", s, err)
		}
		made = append(made, exp)
	}

	mpOpts := []sdkmetric.Option{sdkmetric.WithResource(res)}
	if metricExp != nil {
		mpOpts = append(mpOpts, sdkmetric.WithReader(sdkmetric.NewPeriodicReader(metricExp)))
	}
	if console[metrics] {
		mpOpts = append(mpOpts, sdkmetric.WithReader(sdkmetric.NewPeriodicReader(stdout.NewMetricExporter())))
	}
	mp := sdkmetric.NewMeterProvider(mpOpts...)
	tpOpts := []sdktrace.TracerProviderOption{sdktrace.WithResource(res)}
	if spanExp != nil {
		// Spans dropped at a full queue are counted in metrics sent with the
		// rest, and warned about: see package batch.
		tpOpts = append(tpOpts, sdktrace.WithSpanProcessor(batch.NewSpanProcessor(spanExp, c.spanBatchOptions(mp)...)))
	}
	if console[traces] {
		tpOpts = append(tpOpts, sdktrace.WithSpanProcessor(batch.NewSpanProcessor(stdout.NewSpanExporter(), c.spanBatchOptions(mp)...)))
	}
	lpOpts := []sdklog.LoggerProviderOption{sdklog.WithResource(res)}
	if logExp != nil {
		lpOpts = append(lpOpts, sdklog.WithProcessor(sdklog.NewBatchProcessor(logExp, c.logBatchOptions()...)))
	}
	if console[logs] {
		exp, err := stdoutlog.New(stdoutlog.WithWriter(os.Stdout))
		if err != nil { // it fails only on its options, of which there are none
			return nil, fmt.Errorf("otlp: console logs exporter: %w", err)
		}
		lpOpts = append(lpOpts, sdklog.WithProcessor(sdklog.NewBatchProcessor(exp, c.logBatchOptions()...)))
	}
	return &Providers{
		TracerProvider: sdktrace.NewTracerProvider(tpOpts...),
		MeterProvider:  mp,
		LoggerProvider: sdklog.NewLoggerProvider(lpOpts...),
	}, nil
}

// accepts reports whether the backend takes signal s over OTLP: a preset's
// may take only some.
func (c *config) accepts(s signal) bool {
	return c.only == 0 || c.only.has(s)
}

// spanBatchOptions and logBatchOptions pass on only what was set, so that
// the SDK still reads OTEL_BSP_* and OTEL_BLRP_* otherwise.
func (c *config) spanBatchOptions(mp *sdkmetric.MeterProvider) []batch.Option {
	opts := []batch.Option{batch.WithMeterProvider(mp)}
	if c.batchTimeout > 0 {
		opts = append(opts, batch.WithBatchTimeout(c.batchTimeout))
	}
	if c.maxQueueSize > 0 {
		opts = append(opts, batch.WithQueueSize(c.maxQueueSize))
	}
	return opts
}

func (c *config) logBatchOptions() []sdklog.BatchProcessorOption {
	var opts []sdklog.BatchProcessorOption
	if c.batchTimeout > 0 {
		opts = append(opts, sdklog.WithExportInterval(c.batchTimeout))
	}
	if c.maxQueueSize > 0 {
		opts = append(opts, sdklog.WithMaxQueueSize(c.maxQueueSize))
	}
	return opts
}

// ForceFlush exports all the telemetry buffered by the three providers
// now: finished spans, log records, and the metrics aggregated so far. The
// errors of the three are joined. It is safe to call on a nil *Providers.
func (p *Providers) ForceFlush(ctx context.Context) error {
	if p == nil {
		return nil
	}
	var errs []error
	if p.TracerProvider != nil {
		errs = append(errs, wrap("flush traces", p.TracerProvider.ForceFlush(ctx)))
	}
	if p.MeterProvider != nil {
		errs = append(errs, wrap("flush metrics", p.MeterProvider.ForceFlush(ctx)))
	}
	if p.LoggerProvider != nil {
		errs = append(errs, wrap("flush logs", p.LoggerProvider.ForceFlush(ctx)))
	}
	return errors.Join(errs...)
}

// Shutdown exports what the three providers still buffer and shuts them
// and their exporters down; telemetry recorded afterwards is dropped. While
// an endpoint is unreachable it retries until ctx is done, so give ctx a
// deadline. The errors of the three are joined.
// It is safe to call on a nil *Providers.
func (p *Providers) Shutdown(ctx context.Context) error {
	if p == nil {
		return nil
	}
	var errs []error
	if p.TracerProvider != nil {
		errs = append(errs, wrap("shut down traces", p.TracerProvider.Shutdown(ctx)))
	}
	if p.MeterProvider != nil {
		errs = append(errs, wrap("shut down metrics", p.MeterProvider.Shutdown(ctx)))
	}
	if p.LoggerProvider != nil {
		errs = append(errs, wrap("shut down logs", p.LoggerProvider.Shutdown(ctx)))
	}
	return errors.Join(errs...)
}

func wrap(what string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("otlp: %s: %w", what, err)
}
