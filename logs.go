package observe

import (
	"reflect"
	"time"
	"unicode/utf8"
	"unsafe"

	extism "github.com/extism/go-sdk"
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

// Extism PDK logs. Every Extism PDK logs through the log_* functions of
// extism:host/env, which hand the message to the Plugin's logger
// (Plugin.SetLogger; the standard library's log by default) when it passes
// Extism's level (extism.SetLogLevel). While a call runs, the call stands in
// for that logger: it passes each message on to the app's logger, as
// before, then to the observer, with the trace and span IDs of the
// innermost guest span. When the call ends the app's logger is put back.
//
// A wazero listener on the log functions would see the messages too, but on
// Extism's host module, which costs memory for every plugin created with a
// shared compilation cache (see httpspans.go). The Extism SDK keeps the
// logger in an unexported field; pluginLogger finds it by reflection, once,
// and TestPluginLoggerIsFound fails if a new SDK moves it.

// logFieldOffset is the offset of the logger in extism.Plugin, or -1 when
// the Extism SDK has none where it is looked for.
var logFieldOffset = func() uintptr {
	f, ok := reflect.TypeFor[extism.Plugin]().FieldByName("log")
	if !ok || f.Type != reflect.TypeFor[func(extism.LogLevel, string)]() {
		return ^uintptr(0)
	}
	return f.Offset
}()

// pluginLogger returns where p keeps its logger, or nil.
func pluginLogger(p *extism.Plugin) *func(extism.LogLevel, string) {
	if logFieldOffset == ^uintptr(0) {
		return nil
	}
	return (*func(extism.LogLevel, string))(unsafe.Add(unsafe.Pointer(p), logFieldOffset))
}

// hookLogger makes the call p's logger while it runs.
func (c *call) hookLogger(p *extism.Plugin) {
	if l := pluginLogger(p); l != nil && *l != nil {
		c.appLog, *l = *l, c.extismLog
	}
}

// unhookLogger gives p its own logger back.
func (c *call) unhookLogger() {
	if c.appLog == nil {
		return
	}
	if p, ok := c.key.(*extism.Plugin); ok {
		if l := pluginLogger(p); l != nil {
			*l = c.appLog
		}
	}
	c.appLog = nil
}

// logExtism is the logger of the plugin while the call runs.
func (c *call) logExtism(level extism.LogLevel, msg string) {
	if c.appLog != nil {
		c.appLog(level, msg)
	}
	zl, ok := extismLogLevels[level]
	if !ok || !c.logWanted(zl) {
		return
	}
	b := unsafe.Slice(unsafe.StringData(msg), len(msg))
	truncated := false
	if limit := c.obs.limits.MaxStringBytes; len(b) > limit {
		b, truncated = b[:limit], true
		if e := c.drop(dropTruncated); e != nil {
			e.Str("detail", "Extism log message").Msg("observe: guest string longer than Limits.MaxStringBytes truncated")
		}
	}
	c.emitLog(zl, 0, b, truncated, "extism")
}

// extismLogLevels maps Extism's log levels to zerolog's.
var extismLogLevels = map[extism.LogLevel]zerolog.Level{
	extism.LogLevelTrace: zerolog.TraceLevel,
	extism.LogLevelDebug: zerolog.DebugLevel,
	extism.LogLevelInfo:  zerolog.InfoLevel,
	extism.LogLevelWarn:  zerolog.WarnLevel,
	extism.LogLevelError: zerolog.ErrorLevel,
}

const extismEnv = "extism:host/env"
