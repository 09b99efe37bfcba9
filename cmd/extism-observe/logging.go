package main

import (
	"io"
	"time"

	extism "github.com/extism/go-sdk"
	"github.com/rs/zerolog"
)

// newLogger returns the logger for guest logs and the observer's reports:
// human-readable lines on w, at level and above.
func newLogger(w io.Writer, level zerolog.Level) zerolog.Logger {
	cw := zerolog.ConsoleWriter{
		Out:        w,
		NoColor:    !useColor(w),
		TimeFormat: "15:04:05.000",
		// The IDs are for log backends that join logs to traces; on a
		// terminal the tree printed below shows where each log belongs.
		FieldsExclude: []string{"trace_id", "span_id", "trace_flags", "module"},
	}
	return zerolog.New(cw).Level(level).Hook(timestampHook{})
}

// timestampHook stamps each event with the time to the nanosecond: the
// default stamp, in zerolog.TimeFieldFormat, keeps whole seconds only, and
// changing that format would change it for the whole process.
type timestampHook struct{}

func (timestampHook) Run(e *zerolog.Event, _ zerolog.Level, _ string) {
	e.Str(zerolog.TimestampFieldName, time.Now().Format(time.RFC3339Nano))
}

// extismLevel is the Extism SDK log level that matches a zerolog level, so
// that guests built with an Extism PDK log at the level asked for.
func extismLevel(l zerolog.Level) extism.LogLevel {
	switch l {
	case zerolog.TraceLevel:
		return extism.LogLevelTrace
	case zerolog.DebugLevel:
		return extism.LogLevelDebug
	case zerolog.InfoLevel:
		return extism.LogLevelInfo
	case zerolog.WarnLevel:
		return extism.LogLevelWarn
	case zerolog.ErrorLevel:
		return extism.LogLevelError
	}
	return extism.LogLevelOff
}
