package observe

import (
	"github.com/rs/zerolog"
	"github.com/tetratelabs/wazero/api"
	"go.opentelemetry.io/otel/attribute"
)

// Guest log levels, as the Observe API defines them.
const (
	LevelError = 1
	LevelWarn  = 2
	LevelInfo  = 3
	LevelDebug = 4
	LevelTrace = 5
)

// EventLog is the name of the span event that records a guest log, with
// the attributes AttrLogSeverity and AttrLogMessage.
const EventLog = "log"

// Attributes of the "log" span event that records a guest log.
const (
	AttrLogSeverity = attribute.Key("log.severity")
	AttrLogMessage  = attribute.Key("log.message")
)

// zerologLevel maps a guest log level to zerolog's. Levels outside 1..5 are
// clamped: below 1 is an error, above 5 a trace, so a message is never
// lost for an odd level; its number is kept in the guest_level field.
func zerologLevel(level int32) (l zerolog.Level, known bool) {
	switch {
	case level <= LevelError:
		return zerolog.ErrorLevel, level == LevelError
	case level == LevelWarn:
		return zerolog.WarnLevel, true
	case level == LevelInfo:
		return zerolog.InfoLevel, true
	case level == LevelDebug:
		return zerolog.DebugLevel, true
	case level == LevelTrace:
		return zerolog.TraceLevel, true
	}
	return zerolog.TraceLevel, false
}

// log writes a guest log message to the logger, with the IDs of the
// innermost open span, and records it as an event on that span.
func (c *call) log(mod api.Module, level int32, ptr uint64, n uint32) {
	zl, known := zerologLevel(level)
	logger := &c.obs.logger
	if zl < logger.GetLevel() || zl < zerolog.GlobalLevel() {
		return // nothing built for a level the logger drops
	}
	b, truncated, ok := c.guestBytes(mod, "log message", ptr, n)
	if !ok {
		return
	}
	if c.recording {
		c.addEvent(EventLog, AttrLogSeverity.String(zl.String()), AttrLogMessage.String(ownedString(b)))
	}
	if e := logger.WithLevel(zl); e != nil {
		c.logFields(e)
		if !known {
			e.Int32("guest_level", level)
		}
		if truncated {
			e.Bool("truncated", true)
		}
		// zerolog copies the message into its buffer before returning.
		e.Msg(viewString(b))
	}
}
