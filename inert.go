package observe

import (
	"reflect"
	"unsafe"

	extism "github.com/extism/go-sdk"
	"github.com/rs/zerolog"
	"github.com/tetratelabs/wazero/api"
	otellog "go.opentelemetry.io/otel/log"
	lognoop "go.opentelemetry.io/otel/log/noop"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
)

// Inert Observers.
//
// An Observer is inert when nothing it could report would ever go
// anywhere, whatever happens later in the process: New was given
// OpenTelemetry's no-op TracerProvider, MeterProvider and LoggerProvider,
// and a zerolog logger whose own level is above Error (zerolog.Nop()),
// which no global level can lower. That is how an app turns its telemetry
// off in configuration, without a second build.
//
// The plugins an inert Observer's Context compiles get no function
// listeners at all, so their calls run as they would without the Observer:
// no call is tracked, and the Observe API's host functions return before
// looking for one (hostCall). (A silent call, silent.go, is the same
// decision made at each call's start, for an Observer whose configuration
// could still start recording, so it keeps the listeners that find the
// call.) With a shared compilation cache this is safe: wazero's module ID
// covers which functions have listeners, so such a compile never serves a
// plugin of an Observer that records.
//
// What reaches past the process stays what a silent call does: a guest's
// HTTP request carries the caller's trace context (transport.RoundTrip),
// and SpanFromContext gives the app's host functions the caller's span
// context, recording nothing. Both find the Observer from the plugin's
// main module (inertObserver), off the hot path: only where no call is in
// progress.

// isInert reports whether an Observer with lp as its LoggerProvider, and
// o's other providers and logger, is inert.
func (o *Observer) isInert(lp otellog.LoggerProvider) bool {
	if _, off := o.fixedTracer.(tracenoop.Tracer); !off || !o.metricsOff {
		return false
	}
	if _, off := lp.(lognoop.LoggerProvider); !off {
		return false
	}
	// zerolog writes an event only at or above the logger's own level (the
	// global level can only add to that); nothing here logs above Error.
	return o.logger.GetLevel() > zerolog.ErrorLevel
}

// inertObserver returns the Observer that compiled the plugin of an
// Extism ctx, key being what the ctx holds under pluginKey, when it is
// inert; else nil.
func inertObserver(key any) *Observer {
	p, ok := key.(*extism.Plugin)
	if !ok || !moduleHoldsInstance {
		return nil
	}
	inst := *(*api.Module)(unsafe.Pointer(p.Module()))
	if inst == nil {
		return nil
	}
	if mod := moduleOf(inst, nil); mod != nil && mod.obs.inert {
		return mod.obs
	}
	return nil
}

// moduleHoldsInstance is true when extism.Module is what the Extism SDK
// v1.7 makes it: a struct of one field, the api.Module it wraps. Then
// inertObserver reads it; else (a new SDK) an inert Observer's plugins
// send the guest's requests without trace headers, and SpanFromContext
// gives them the caller's span. TestModuleHoldsInstance fails on such an
// SDK.
var moduleHoldsInstance = func() bool {
	t := reflect.TypeFor[extism.Module]()
	return t.NumField() == 1 && t.Field(0).Type == reflect.TypeFor[api.Module]() && t.Field(0).Offset == 0
}()
