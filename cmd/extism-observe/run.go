package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"go.opentelemetry.io/otel/trace"
)

// Exit codes.
const (
	exitOK    = 0 // the call succeeded
	exitGuest = 1 // the guest failed; its trace was still printed
	exitSetup = 2 // a usage error, or the call could not be set up
)

// run is the whole command, without a standard input: -stdin reads none.
func run(args []string, stdout, stderr io.Writer) int {
	return runIO(args, nil, stdout, stderr)
}

// runIO is the whole command: it parses args, does what they ask, reads
// stdin for -stdin, writes to stdout and stderr, and returns the exit code.
// It never exits itself.
func runIO(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitSetup
	}
	switch args[0] {
	case "run":
		return runCommand(args[1:], stdin, stdout, stderr)
	case "help", "-h", "-help", "--help":
		if len(args) > 1 && args[1] == "run" {
			fmt.Fprint(stdout, runUsage)
		} else {
			fmt.Fprint(stdout, usage)
		}
		return exitOK
	}
	fmt.Fprintf(stderr, "extism-observe: unknown command %q\n\n%s", args[0], usage)
	return exitSetup
}

// runCommand is the run subcommand.
func runCommand(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	c, err := parseRunFlags(args, stdout)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "extism-observe run: %v\nRun 'extism-observe run -h' for usage.\n", err)
		return exitSetup
	}
	// No signal handling: stopping a running guest on Ctrl-C would need
	// wazero's close-on-context-done checks, which slow tight loops down
	// some hundredfold and so would skew every duration in the trace.
	// -timeout turns them on (Extism does) and prints the trace.
	return c.run(context.Background(), stdin, stdout, stderr)
}

// tlsHint says what to try when OTLP over gRPC timed out with TLS on: a
// plaintext endpoint (a local Collector or Jaeger) never finishes the TLS
// handshake, and gRPC then reports only that the deadline passed.
func (c *runConfig) tlsHint(err error) string {
	if !errors.Is(err, context.DeadlineExceeded) && !strings.Contains(err.Error(), "DeadlineExceeded") {
		return ""
	}
	if c.exporter != exporterOTLP || c.insecure || c.protocol == "http" {
		return ""
	}
	if c.protocol == "" && strings.HasPrefix(os.Getenv("OTEL_EXPORTER_OTLP_PROTOCOL"), "http") {
		return ""
	}
	if v := strings.ToLower(os.Getenv("OTEL_EXPORTER_OTLP_INSECURE")); v == "true" || v == "1" {
		return ""
	}
	return "hint: gRPC with TLS to an endpoint that speaks plaintext (a local Collector, Jaeger, an agent) " +
		"times out like this: add -insecure, or use -exporter collector, jaeger or datadog"
}

// run loads the plugin, calls the export inside a caller span (-loop
// times), and flushes the telemetry, whatever happens on the way.
func (c *runConfig) run(ctx context.Context, stdin io.Reader, rawStdout, rawStderr io.Writer) (code int) {
	stdout, stderr := &lockedWriter{w: rawStdout}, &lockedWriter{w: rawStderr}
	setupFailed := func(err error) int {
		fmt.Fprintf(stderr, "extism-observe: %v\n", err)
		if hint := hintOf(err); hint != "" {
			fmt.Fprintf(stderr, "extism-observe: hint: %s\n", hint)
		}
		return exitSetup
	}
	manifest, mods, err := c.loadManifest()
	if err != nil {
		return setupFailed(err)
	}
	input, err := c.readInput(stdin)
	if err != nil {
		return setupFailed(err)
	}
	tel, err := newTelemetry(ctx, c, stdout)
	if err != nil {
		return setupFailed(err)
	}
	var traces []trace.SpanContext
	defer func() {
		// In every path, a failed or timed-out call included: what was
		// recorded is printed or sent.
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
		defer cancel()
		if err := tel.shutdown(sctx); err != nil {
			where := ""
			if tel.delivered != "" {
				where = " over " + tel.delivered
			}
			fmt.Fprintf(stderr, "extism-observe: telemetry not delivered%s: %v\n", where, err)
			if hint := c.tlsHint(err); hint != "" {
				fmt.Fprintf(stderr, "extism-observe: %s\n", hint)
			}
			if code == exitOK {
				code = exitSetup
			}
			return
		}
		switch {
		case tel.delivered == "" || len(traces) == 0:
		case len(traces) == 1:
			fmt.Fprintf(stderr, "extism-observe: trace %s sent over %s\n", traces[0].TraceID(), tel.delivered)
		default:
			fmt.Fprintf(stderr, "extism-observe: %d traces sent over %s, the first %s, the last %s\n",
				len(traces), tel.delivered, traces[0].TraceID(), traces[len(traces)-1].TraceID())
		}
	}()

	if c.httpServer {
		srv, err := startHTTPServer(tel.tp)
		if err != nil {
			return setupFailed(err)
		}
		// Stopped before the telemetry is flushed (defers run last first),
		// so that its spans are in the trace.
		defer srv.stop(context.WithoutCancel(ctx))
		manifest.AllowedHosts = append(manifest.AllowedHosts, "127.0.0.1")
		if manifest.Config == nil {
			manifest.Config = map[string]string{}
		}
		manifest.Config["http_server_url"] = srv.url
		if !c.hasInput && c.inputFile == "" && !c.stdin {
			input = []byte(srv.url)
		}
	}
	p, err := c.newPlugin(ctx, manifest, mods, tel, newLogger(stderr, c.logLevel), stdout, stderr)
	if err != nil {
		return setupFailed(err)
	}
	defer p.Close(context.WithoutCancel(ctx))
	export, err := chooseExport(c.plugin, c.export, exportNames(p.inst))
	if err != nil {
		return setupFailed(err)
	}

	var durations []time.Duration
	failed := 0
	for range c.loop {
		sc, took, err := c.call(ctx, tel.tp, p, export, input, stdout)
		traces = append(traces, sc)
		durations = append(durations, took)
		if err != nil {
			failed++
			c.reportGuestError(stderr, err)
			code = exitGuest
		}
	}
	if c.loop > 1 {
		fmt.Fprintf(stderr, "extism-observe: %s\n", loopSummary(export, durations, failed))
	}
	return code
}

// reportGuestError prints a failed call's message on stderr: its first
// line, the guest's wasm stack trace once, and a hint when there is one.
func (c *runConfig) reportGuestError(stderr io.Writer, err error) {
	first, stack := splitGuestError(err)
	fmt.Fprintf(stderr, "extism-observe: %s: %s\n", c.plugin, first)
	if stack != "" {
		fmt.Fprintln(stderr, stack)
	}
	for _, hint := range []string{c.guestHint(err), oomHint(err, c.memoryMax)} {
		if hint != "" {
			fmt.Fprintf(stderr, "extism-observe: hint: %s\n", hint)
		}
	}
}

// loopSummary is the line that -loop prints: how many calls, how many
// failed, and the least, median and greatest of their durations.
func loopSummary(export string, durations []time.Duration, failed int) string {
	sorted := slices.Clone(durations)
	slices.Sort(sorted)
	n := len(sorted)
	median := sorted[n/2]
	if n%2 == 0 {
		median = (sorted[n/2-1] + sorted[n/2]) / 2
	}
	s := fmt.Sprintf("%d calls of %s", n, export)
	if failed > 0 {
		s += fmt.Sprintf(" (%d failed)", failed)
	}
	return s + fmt.Sprintf(": min %v, median %v, max %v", round(sorted[0]), round(median), round(sorted[n-1]))
}

// round keeps three significant digits of d, as the trace tree prints
// durations.
func round(d time.Duration) time.Duration {
	for unit := time.Duration(1); unit <= time.Second; unit *= 10 {
		if d < unit*1000 {
			return d.Round(unit)
		}
	}
	return d.Round(time.Millisecond)
}
