package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/tetratelabs/wazero/sys"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/extism-observe/observe"
)

// tracerName is the instrumentation scope of the caller span.
const tracerName = "github.com/extism-observe/observe/cmd/extism-observe"

// callerSpanName names the span that stands for the command: the root of
// the trace, with the plugin call span under it.
const callerSpanName = "extism-observe run"

// call runs export with input inside the caller span, the root of a trace
// of its own, writes the guest's Extism output to stdout, and returns the
// caller span's context, how long the guest call took, and what went wrong
// in the guest, if anything.
func (c *runConfig) call(ctx context.Context, tp trace.TracerProvider, p *plugin, export string, input []byte, stdout io.Writer) (trace.SpanContext, time.Duration, error) {
	attrs := []attribute.KeyValue{
		attribute.String("plugin.path", c.plugin),
		attribute.String("plugin.export", export),
	}
	if len(input) > 0 {
		attrs = append(attrs, attribute.Int("plugin.input_bytes", len(input)))
	}
	// A TRACEPARENT (and TRACESTATE) in the environment makes the run a
	// part of that trace, as otel-cli and the specification's environment
	// carriers have it.
	ctx = propagator.Extract(ctx, envCarrier())
	ctx, span := tp.Tracer(tracerName, trace.WithInstrumentationVersion(observe.Version)).
		Start(ctx, callerSpanName, trace.WithAttributes(attrs...))
	// Ending the span prints the tree (stdout exporter), after the output.
	defer span.End()

	inst, err := p.instance(ctx)
	if err != nil {
		err = fmt.Errorf("instantiating the plugin again after its last call: %w", err)
		span.SetStatus(codes.Error, err.Error())
		return span.SpanContext(), 0, err
	}
	start := time.Now()
	rc, out, err := inst.CallWithContext(ctx, export, input)
	took := time.Since(start)
	p.called(export, err)
	if len(out) > 0 {
		if !bytes.HasSuffix(out, []byte("\n")) {
			out = append(out, '\n') // the tree starts on a line of its own
		}
		_, _ = stdout.Write(out)
	}
	err = guestError(export, rc, err, c.timeout)
	if err != nil {
		// A trap's message goes on with wazero's stack trace; the call
		// span under this one has it all.
		msg, _ := splitGuestError(err)
		span.SetStatus(codes.Error, msg)
	}
	return span.SpanContext(), took, err
}

// envCarrier carries the trace context of the environment: TRACEPARENT,
// TRACESTATE and BAGGAGE.
func envCarrier() propagation.MapCarrier {
	c := propagation.MapCarrier{}
	for _, k := range []string{"traceparent", "tracestate", "baggage"} {
		if v := os.Getenv(strings.ToUpper(k)); v != "" {
			c[k] = v
		}
	}
	return c
}

// guestError says how the call failed, from what CallWithContext returned;
// nil when it succeeded.
func guestError(export string, rc uint32, err error, timeout fmt.Stringer) error {
	if err == nil {
		if rc == 0 {
			return nil
		}
		return fmt.Errorf("%s returned %d", export, int32(rc))
	}
	var exit *sys.ExitError
	if errors.As(err, &exit) {
		switch {
		case errors.Is(err, context.DeadlineExceeded):
			return fmt.Errorf("%s timed out after %v (-timeout)", export, timeout)
		case errors.Is(err, context.Canceled):
			return fmt.Errorf("%s interrupted", export)
		}
		return fmt.Errorf("%s exited with code %d", export, exit.ExitCode())
	}
	// The Extism SDK flattens the error of the guest runtime's
	// initialisation into text: a deadline that passed there is known by it.
	if strings.Contains(err.Error(), context.DeadlineExceeded.Error()) {
		return fmt.Errorf("%s timed out after %v (-timeout)", export, timeout)
	}
	return fmt.Errorf("calling %s: %w", export, err)
}
