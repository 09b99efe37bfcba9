package observe

import (
	"context"
	"sync"

	"github.com/rs/zerolog"
	otellog "go.opentelemetry.io/otel/log"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
)

// Silent calls.
//
// A call is silent when its tracer is OpenTelemetry's no-op one, the
// MeterProvider is the no-op one, and neither the zerolog logger nor the
// OpenTelemetry LoggerProvider wants a log at any level a guest or the
// observer writes: what an app that turns its telemetry off configures.
// Such a call records nothing, so it does nothing beyond keeping its
// place: the Observe API's host functions and the function listeners
// return as soon as they have found it, Extism's plugin logs go to the
// plugin's own logger as without the observer, and the call's end only
// gives its place back. What it still does is what reaches past the
// process: the guest's HTTP requests carry the caller's trace context
// (roundTrip), and SpanFromContext gives the app's host functions the
// caller's span context, as a no-op tracer's span would.
//
// Whether a call is silent is decided when it starts, for the whole call:
// a LoggerProvider set, or a zerolog level lowered, while it runs takes
// effect from the next call.

// silentPool holds the calls of startSilent, apart from callPool's: outside
// the few fields a silent call sets, a value of it stays as new, so that
// releasing one clears only those (releaseSilent).
var silentPool = sync.Pool{New: func() any { return newSilentCall() }}

func newSilentCall() *call {
	c := &call{silent: true}
	c.entry = &callEntry{c: c}
	return c
}

// silent reports whether a call of ctx with tracer would be silent.
func (o *Observer) silent(ctx context.Context, tracer trace.Tracer) bool {
	if _, off := tracer.(tracenoop.Tracer); !off || !o.metricsOff {
		return false
	}
	// zerolog writes an event at level l when l is at or above both the
	// logger's level and the global one; nothing here logs above Error.
	if max(o.logger.GetLevel(), zerolog.GlobalLevel()) <= zerolog.ErrorLevel {
		return false
	}
	for _, sev := range logSeverities {
		if o.otelLogger.Enabled(ctx, otellog.EnabledParameters{Severity: sev}) {
			return false
		}
	}
	return true
}

// logSeverities are the severities of every log the observer writes to the
// OpenTelemetry LoggerProvider (otelSeverity).
var logSeverities = [...]otellog.Severity{otellog.SeverityError, otellog.SeverityWarn,
	otellog.SeverityInfo, otellog.SeverityDebug, otellog.SeverityTrace}

// startSilent starts a silent call of ctx. It sets only what roundTrip,
// SpanFromContext and the call's place need (and releaseSilent clears):
// the Observer, key, ctx and tracer. Its span stack stays empty: those two
// start from the caller's ctx.
func startSilent(o *Observer, ctx context.Context, key any, tracer trace.Tracer) *call {
	c := silentPool.Get().(*call)
	c.obs, c.key, c.ctx, c.tracer = o, key, ctx, tracer
	return c
}

// releaseSilent pools a silent call that has ended.
func (c *call) releaseSilent() {
	c.clearSilent()
	silentPool.Put(c)
}

// clearSilent clears what startSilent, register and the call's life set
// (unregister clears the call's place): c is then as newSilentCall made it,
// which TestSilentCallCleared checks.
func (c *call) clearSilent() {
	c.obs, c.key, c.ctx, c.tracer = nil, nil, nil, nil
	c.depth, c.httpFailed = 0, false
}
