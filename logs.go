package observe

import (
	"time"
	"unicode/utf8"

	"github.com/rs/zerolog"
	"github.com/tetratelabs/wazero/api"
	"go.opentelemetry.io/otel/attribute"
	otellog "go.opentelemetry.io/otel/log"

	"github.com/extism-observe/observe/internal/conv"
)

// Guest log levels, as the Observe API defines them.
const (
	levelError = 1
	levelWarn  = 2
	levelInfo  = 3
	levelDebug = 4
	levelTrace = 5
)

// zerologLevel maps a guest log level to zerolog's. Levels outside 1..5 are
// clamped: below 1 is an error, above 5 a trace, so a message is never
// lost for an odd level; its number is kept in the guest_level field.
func zerologLevel(level int32) (l zerolog.Level, known bool) {
	switch {
	case level <= levelError:
		return zerolog.ErrorLevel, level == levelError
	case level == levelWarn:
		return zerolog.WarnLevel, true
	case level == levelInfo:
		return zerolog.InfoLevel, true
	case level == levelDebug:
		return zerolog.DebugLevel, true
	case level == levelTrace:
		return zerolog.TraceLevel, true
	}
	return zerolog.TraceLevel, false
}

// otelSeverity maps a zerolog level to an OpenTelemetry severity.
func otelSeverity(l zerolog.Level) otellog.Severity {
	switch l {
	case zerolog.TraceLevel:
		return otellog.SeverityTrace
	case zerolog.DebugLevel:
		return otellog.SeverityDebug
	case zerolog.InfoLevel:
		return otellog.SeverityInfo
	case zerolog.WarnLevel:
		return otellog.SeverityWarn
	}
	return otellog.SeverityError
}

// log handles the Observe API's log function.
func (c *call) log(mod api.Module, level int32, ptr uint64, n uint32) {
	zl, known := zerologLevel(level)
	if !c.logWanted(zl) {
		return // nothing read or built for a level nobody keeps
	}
	b, truncated, ok := c.guestBytes(mod, "log message", ptr, n)
	if !ok {
		return
	}
	var raw int32
	if !known {
		raw = level
	}
	c.emitLog(zl, raw, b, truncated, "")
}

// logWanted reports whether a guest log at l goes anywhere: to the zerolog
// logger (whose level also decides the span event) or to the
// OpenTelemetry logger.
func (c *call) logWanted(l zerolog.Level) bool {
	o := c.obs
	if l >= o.logger.GetLevel() && l >= zerolog.GlobalLevel() {
		return true
	}
	ctx, _ := c.live()
	return o.otelLogger.Enabled(ctx, otellog.EnabledParameters{Severity: otelSeverity(l)})
}

// emitLog writes a guest message (b aliases guest memory) to the zerolog
// logger with the IDs of the innermost started span, to the OpenTelemetry
// logger in that span's ctx, and as an event on the innermost open span.
// rawLevel, when not 0, is a guest level outside the Observe API's range;
// source names where the log came from when not the Observe API.
func (c *call) emitLog(l zerolog.Level, rawLevel int32, b []byte, truncated bool, source string) {
	o := c.obs
	var msg string // owned copy, made once if anything keeps it
	ctx, _ := c.live()
	sev := otelSeverity(l)
	if o.otelLogger.Enabled(ctx, otellog.EnabledParameters{Severity: sev}) {
		msg = ownedString(b)
		var r otellog.Record
		now := time.Now()
		r.SetTimestamp(now)
		r.SetObservedTimestamp(now)
		r.SetSeverity(sev)
		r.SetSeverityText(l.String())
		r.SetBody(attribute.StringValue(msg))
		r.AddAttributes(conv.Module.String(c.module), conv.Function.String(c.function))
		if truncated {
			r.AddAttributes(conv.Truncated.Bool(true))
		}
		o.otelLogger.Emit(ctx, r)
	}
	if e := o.logger.WithLevel(l); e != nil {
		if c.recording {
			if msg == "" {
				msg = ownedString(b)
			}
			c.spans.addEvent(conv.EventLog, conv.LogSeverity.String(l.String()), conv.LogMessage.String(msg))
		}
		c.logFields(e)
		if rawLevel != 0 {
			e.Int32("guest_level", rawLevel)
		}
		if source != "" {
			e.Str("source", source)
		}
		if truncated {
			e.Bool("truncated", true)
		}
		// zerolog copies the message into its buffer before returning. Invalid
		// UTF-8 is replaced as everywhere else, so that the line and the
		// span event say the same.
		if msg == "" && !utf8.Valid(b) {
			msg = ownedString(b)
		}
		if msg != "" {
			e.Msg(msg)
		} else {
			e.Msg(viewString(b))
		}
	}
}

// extismLogLevels maps the log functions of extism:host/env, which every
// Extism PDK logs through, to zerolog levels.
var extismLogLevels = map[string]zerolog.Level{
	"log_trace": zerolog.TraceLevel,
	"log_debug": zerolog.DebugLevel,
	"log_info":  zerolog.InfoLevel,
	"log_warn":  zerolog.WarnLevel,
	"log_error": zerolog.ErrorLevel,
}

const extismEnv = "extism:host/env"
