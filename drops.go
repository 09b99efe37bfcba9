package observe

import (
	"context"
	"time"

	"github.com/rs/zerolog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// dropReason says why guest data was not recorded as sent.
type dropReason uint8

const (
	dropBadMemory      dropReason = iota // pointer or length outside guest memory
	dropTruncated                        // string longer than Limits.MaxStringBytes, cut
	dropSpanDepth                        // span-enter beyond Limits.MaxSpanDepth
	dropSpanLimit                        // span-enter beyond Limits.MaxSpansPerCall
	dropTagLimit                         // tag beyond Limits.MaxTagsPerCall
	dropUnbalancedExit                   // span-exit with no open guest span
	dropOpenSpan                         // span left open at the end of the call (ended, not dropped)
	dropBadMetric                        // malformed statsd line, unknown type or format
	dropMetricLimit                      // metric beyond Limits.MaxMetricNames, or a series beyond its gauge's limit
	dropNoContext                        // plugin not created with Observer.Context
	numDropReasons
)

var dropReasonNames = [numDropReasons]string{
	dropBadMemory:      "bad_memory",
	dropTruncated:      "truncated",
	dropSpanDepth:      "span_depth",
	dropSpanLimit:      "span_limit",
	dropTagLimit:       "tag_limit",
	dropUnbalancedExit: "unbalanced_exit",
	dropOpenSpan:       "open_span",
	dropBadMetric:      "bad_metric",
	dropMetricLimit:    "metric_limit",
	dropNoContext:      "no_context",
}

// String returns the reason as it appears in logs, metric attributes and
// span attributes.
func (r dropReason) String() string { return dropReasonNames[r] }

// dropAttrs holds the metric attribute set of each reason, made once.
var dropAttrs = func() (a [numDropReasons]metric.AddOption) {
	for r := range numDropReasons {
		a[r] = metric.WithAttributeSet(attribute.NewSet(attribute.String("reason", r.String())))
	}
	return a
}()

// reporter writes the observer's own reports about bad guest input. Each
// reason has its own budget, so a flood of one kind of bad input cannot
// hide another, nor flood the log.
type reporter struct {
	byReason [numDropReasons]zerolog.Logger
	failed   zerolog.Logger // plugin calls that failed
	adapter  zerolog.Logger // plugins created with the SDK's ObserveAdapter too
	foreign  zerolog.Logger // plugins whose host functions are another Observer's
}

const (
	reportBurst  = 10
	reportPeriod = time.Minute
)

func (r *reporter) init(l zerolog.Logger) {
	for i := range r.byReason {
		burst := uint32(reportBurst)
		if dropReason(i) == dropNoContext {
			burst = 1 // the same set-up mistake, said once a minute
		}
		r.byReason[i] = l.Sample(&zerolog.BurstSampler{Burst: burst, Period: reportPeriod})
	}
	r.failed = l.Sample(&zerolog.BurstSampler{Burst: reportBurst, Period: reportPeriod})
	r.adapter = l.Sample(&zerolog.BurstSampler{Burst: 1, Period: reportPeriod})
	r.foreign = l.Sample(&zerolog.BurstSampler{Burst: 1, Period: reportPeriod})
}

// count records n items dropped (or truncated) for reason, without logging.
func (c *call) count(reason dropReason, n int) {
	c.drops[reason] += n
}

// isLimit tells the reasons that are limits reached, rather than bad input:
// those are logged once per call, at warn level.
func (r dropReason) isLimit() bool {
	switch r {
	case dropTruncated, dropSpanDepth, dropSpanLimit, dropTagLimit, dropMetricLimit:
		return true
	}
	return false
}

// drop counts one item dropped for reason and returns the event to log it
// with, or nil when it is not to be logged: bad input is logged at error
// level each time, within the observer's rate limit for the reason; a limit
// reached is logged at warn level once per call. A caller builds its message
// and detail (which should name the offending input) only on a non-nil
// event, so that a flood of bad input costs no formatting.
func (c *call) drop(reason dropReason) *zerolog.Event {
	first := c.drops[reason] == 0
	c.drops[reason]++
	var e *zerolog.Event
	switch {
	case !reason.isLimit():
		e = c.obs.reports.byReason[reason].Error()
	case first:
		e = c.obs.reports.byReason[reason].Warn()
	}
	if e == nil {
		return nil
	}
	return c.logFields(e).Str("reason", reason.String())
}

// report is drop for a fixed message with no detail.
func (c *call) report(reason dropReason, msg string) {
	if e := c.drop(reason); e != nil {
		e.Msg(msg)
	}
}

// logFields adds the identity of the call and its innermost span to e.
func (c *call) logFields(e *zerolog.Event) *zerolog.Event {
	_, span := c.live()
	sc := span.SpanContext()
	if sc.IsValid() {
		// The fields the OpenTelemetry specification gives logs outside
		// OTLP: trace_id, span_id and trace_flags, in hex.
		tid, sid, flags := sc.TraceID(), sc.SpanID(), sc.TraceFlags()
		e.Hex("trace_id", tid[:]).Hex("span_id", sid[:]).Hex("trace_flags", []byte{byte(flags)})
	}
	return e.Str("module", c.module).Str("function", c.function)
}

// recordDrops puts the call's drop counts on the call span.
func (c *call) recordDrops() {
	for r, n := range c.drops {
		if n > 0 {
			c.callSpan.SetAttributes(attribute.Int("observe.dropped."+dropReason(r).String(), n))
		}
	}
}

// flushDropCounts adds the call's drop counts to the observe.dropped metric.
func (c *call) flushDropCounts() {
	for r, n := range c.drops {
		if n > 0 {
			c.obs.dropped.Add(context.WithoutCancel(c.ctx), int64(n), dropAttrs[r])
		}
	}
}
