package main

import (
	"context"
	"io"
	"time"

	otellog "go.opentelemetry.io/otel/log"

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

// minSeverity is lp without the records below level: the OTLP log records
// follow -log-level as stderr and the span events do.
func minSeverity(lp otellog.LoggerProvider, level zerolog.Level) otellog.LoggerProvider {
	return &minSeverityProvider{LoggerProvider: lp, min: severityOf(level)}
}

// severityOf is the least OpenTelemetry severity that level keeps.
func severityOf(level zerolog.Level) otellog.Severity {
	switch level {
	case zerolog.TraceLevel:
		return otellog.SeverityTrace
	case zerolog.DebugLevel:
		return otellog.SeverityDebug
	case zerolog.InfoLevel:
		return otellog.SeverityInfo
	case zerolog.WarnLevel:
		return otellog.SeverityWarn
	case zerolog.ErrorLevel:
		return otellog.SeverityError
	}
	return otellog.SeverityFatal4 + 1 // disabled: above every severity
}

type minSeverityProvider struct {
	otellog.LoggerProvider
	min otellog.Severity
}

func (p *minSeverityProvider) Logger(name string, opts ...otellog.LoggerOption) otellog.Logger {
	return &minSeverityLogger{Logger: p.LoggerProvider.Logger(name, opts...), min: p.min}
}

type minSeverityLogger struct {
	otellog.Logger
	min otellog.Severity
}

func (l *minSeverityLogger) Enabled(ctx context.Context, p otellog.EnabledParameters) bool {
	return p.Severity >= l.min && l.Logger.Enabled(ctx, p)
}

func (l *minSeverityLogger) Emit(ctx context.Context, r otellog.Record) {
	if r.Severity() >= l.min {
		l.Logger.Emit(ctx, r)
	}
}
