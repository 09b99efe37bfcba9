package batch

import (
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"
	"go.opentelemetry.io/otel/metric"
)

// The defaults are those of the OpenTelemetry SDK's BatchSpanProcessor and
// of the OpenTelemetry specification.
const (
	// DefaultQueueSize is the number of ended spans that can wait to be
	// exported; see [WithQueueSize].
	DefaultQueueSize = 2048
	// DefaultBatchSize is the largest number of spans exported at once; see
	// [WithBatchSize].
	DefaultBatchSize = 512
	// DefaultBatchTimeout is the longest a span waits for its batch to fill;
	// see [WithBatchTimeout].
	DefaultBatchTimeout = 5 * time.Second
	// DefaultExportTimeout bounds each export; see [WithExportTimeout].
	DefaultExportTimeout = 30 * time.Second
	// DefaultWarnInterval is the shortest time between two warnings of the
	// same kind; see [WithWarnInterval].
	DefaultWarnInterval = time.Minute
)

// The environment variables of the OpenTelemetry specification that set the
// defaults of a batch span processor.
const (
	envQueueSize     = "OTEL_BSP_MAX_QUEUE_SIZE"
	envBatchSize     = "OTEL_BSP_MAX_EXPORT_BATCH_SIZE"
	envBatchTimeout  = "OTEL_BSP_SCHEDULE_DELAY" // milliseconds
	envExportTimeout = "OTEL_BSP_EXPORT_TIMEOUT" // milliseconds
)

// config is the resolved configuration of a SpanProcessor.
type config struct {
	queueSize     int
	batchSize     int
	batchTimeout  time.Duration
	exportTimeout time.Duration // <= 0: no timeout
	blocking      bool
	meterProvider metric.MeterProvider // nil: the global one
	logger        *zerolog.Logger      // nil: zerolog's global logger
	warnInterval  time.Duration
	now           func() time.Time // the clock of the warnings; tests replace it

	// badEnv lists the OTEL_BSP_* variables that were set but unusable, to
	// be reported once the logger is known.
	badEnv []string
}

// newConfig returns the defaults, overridden by the environment, overridden
// by opts.
func newConfig(opts []Option) config {
	c := config{
		queueSize:     DefaultQueueSize,
		batchSize:     DefaultBatchSize,
		batchTimeout:  DefaultBatchTimeout,
		exportTimeout: DefaultExportTimeout,
		warnInterval:  DefaultWarnInterval,
		now:           time.Now,
	}
	c.queueSize = c.envInt(envQueueSize, c.queueSize, 1)
	c.batchSize = c.envInt(envBatchSize, c.batchSize, 1)
	c.batchTimeout = time.Duration(c.envInt(envBatchTimeout, int(c.batchTimeout/time.Millisecond), 1)) * time.Millisecond
	// As in the SDK, OTEL_BSP_EXPORT_TIMEOUT=0 means no timeout.
	c.exportTimeout = time.Duration(c.envInt(envExportTimeout, int(c.exportTimeout/time.Millisecond), 0)) * time.Millisecond
	for _, o := range opts {
		o.apply(&c)
	}
	c.batchSize = min(c.batchSize, c.queueSize)
	return c
}

// envInt returns the integer value of the environment variable name, or def
// when it is unset, not an integer or below least.
func (c *config) envInt(name string, def, least int) int {
	v := strings.TrimSpace(os.Getenv(name))
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < least {
		c.badEnv = append(c.badEnv, name+"="+v)
		return def
	}
	return n
}

// Option configures a [SpanProcessor] made by [NewSpanProcessor].
type Option interface {
	apply(*config)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithQueueSize sets how many ended spans can wait to be exported. A span
// that ends when the queue is full is dropped and counted (see
// [SpanProcessor]), or waits for room with [WithBlocking]. Without it,
// OTEL_BSP_MAX_QUEUE_SIZE, else [DefaultQueueSize]. The package
// documentation explains how to size it. A size below 1 is ignored.
func WithQueueSize(n int) Option {
	return optionFunc(func(c *config) {
		if n > 0 {
			c.queueSize = n
		}
	})
}

// WithBatchSize sets the largest number of spans given to the exporter at
// once; a batch is exported as soon as it is full. Without it,
// OTEL_BSP_MAX_EXPORT_BATCH_SIZE, else [DefaultBatchSize]. A size below 1 is
// ignored; a size above the queue size is lowered to it.
func WithBatchSize(n int) Option {
	return optionFunc(func(c *config) {
		if n > 0 {
			c.batchSize = n
		}
	})
}

// WithBatchTimeout sets the longest time a span waits for its batch to fill
// before it is exported anyway. Without it, OTEL_BSP_SCHEDULE_DELAY
// (milliseconds), else [DefaultBatchTimeout]. A timeout below or equal to 0
// is ignored.
func WithBatchTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) {
		if d > 0 {
			c.batchTimeout = d
		}
	})
}

// WithExportTimeout bounds each call of the exporter's ExportSpans, through
// its ctx. Without it, OTEL_BSP_EXPORT_TIMEOUT (milliseconds), else
// [DefaultExportTimeout]. A timeout below or equal to 0 means none: an
// exporter that hangs then stops all exports, and the queue fills.
func WithExportTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) {
		c.exportTimeout = d
	})
}

// WithBlocking makes a span that ends when the queue is full wait for room,
// instead of being dropped: no span is lost, and the plugin call (or
// whatever ends the span) is slowed down to the exporter's pace instead.
// A span still waiting when [SpanProcessor.Shutdown] is called is dropped
// and counted.
//
// The wait is inside span.End, on the goroutine that ends the span: an
// exporter whose own spans (an instrumented HTTP client, say) go to the
// same TracerProvider can then deadlock, and should not be used with it.
func WithBlocking() Option {
	return optionFunc(func(c *config) {
		c.blocking = true
	})
}

// WithMeterProvider sets the MeterProvider of the processor's own metrics
// (observe.exporter.spans.dropped, observe.exporter.spans.exported,
// observe.exporter.errors). Without it the global provider is used. A nil
// provider is ignored.
func WithMeterProvider(mp metric.MeterProvider) Option {
	return optionFunc(func(c *config) {
		if mp != nil {
			c.meterProvider = mp
		}
	})
}

// WithLogger sets the zerolog logger that receives the warnings about
// dropped spans and failed exports. Without it, zerolog's global logger
// (github.com/rs/zerolog/log.Logger, as it is when [NewSpanProcessor] runs)
// is used. Pass zerolog.Nop() to silence them; they are still counted.
func WithLogger(l zerolog.Logger) Option {
	return optionFunc(func(c *config) {
		c.logger = &l
	})
}

// WithWarnInterval sets the shortest time between two warnings about
// dropped spans, and between two warnings about failed exports. Each
// warning says how many were lost since the one before, so that none goes
// unreported. Default [DefaultWarnInterval]. An interval below or equal to
// 0 is ignored.
func WithWarnInterval(d time.Duration) Option {
	return optionFunc(func(c *config) {
		if d > 0 {
			c.warnInterval = d
		}
	})
}
