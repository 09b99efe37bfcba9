package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"go.opentelemetry.io/otel/trace"
)

// Exit codes.
const (
	exitOK    = 0 // the call succeeded
	exitGuest = 1 // the guest failed; its trace was still printed
	exitSetup = 2 // a usage error, or the call could not be set up
)

// run is the whole command: it parses args, does what they ask, writes to
// stdout and stderr, and returns the exit code. It never exits itself.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitSetup
	}
	switch args[0] {
	case "run":
		return runCommand(args[1:], stdout, stderr)
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
func runCommand(args []string, stdout, stderr io.Writer) int {
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
	return c.run(context.Background(), stdout, stderr)
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

// run loads the plugin, calls the export inside a caller span, and flushes
// the telemetry, whatever happens on the way.
func (c *runConfig) run(ctx context.Context, rawStdout, rawStderr io.Writer) (code int) {
	stdout, stderr := &lockedWriter{w: rawStdout}, &lockedWriter{w: rawStderr}
	setupFailed := func(err error) int {
		fmt.Fprintf(stderr, "extism-observe: %v\n", err)
		return exitSetup
	}
	wasm, err := readModule(c.plugin)
	if err != nil {
		return setupFailed(err)
	}
	input, err := c.readInput()
	if err != nil {
		return setupFailed(err)
	}
	tel, err := newTelemetry(ctx, c, stdout)
	if err != nil {
		return setupFailed(err)
	}
	var sc trace.SpanContext
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
		if tel.delivered != "" && sc.IsValid() {
			fmt.Fprintf(stderr, "extism-observe: trace %s sent over %s\n", sc.TraceID(), tel.delivered)
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
		c.allowHosts = append(c.allowHosts, "127.0.0.1")
		if c.config == nil {
			c.config = headerFlag{}
		}
		c.config["http_server_url"] = srv.url
		if !c.hasInput && c.inputFile == "" {
			input = []byte(srv.url)
		}
	}
	p, err := c.newPlugin(ctx, wasm, tel, newLogger(stderr, c.logLevel), stdout, stderr)
	if err != nil {
		return setupFailed(err)
	}
	defer p.Close(context.WithoutCancel(ctx))
	export, err := chooseExport(c.plugin, c.export, exportNames(p))
	if err != nil {
		return setupFailed(err)
	}

	sc, err = c.call(ctx, tel.tp, p, export, input, stdout)
	if err != nil {
		fmt.Fprintf(stderr, "extism-observe: %s: %v\n", c.plugin, err)
		return exitGuest
	}
	return exitOK
}
