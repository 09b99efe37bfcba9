package main

import (
	"encoding/hex"
	"strings"
	"testing"

	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"

	"github.com/extism-observe/observe/internal/testutil"
)

// TestRunOTLP sends a call's telemetry to a loopback receiver. Shutting the
// providers down, before run returns, delivers everything: no waiting.
func TestRunOTLP(t *testing.T) {
	t.Parallel()
	rcv := testutil.NewReceiver(t, "grpc")
	r := runCmd(t, "run", "-exporter", "otlp", "-protocol", "grpc", "-endpoint", rcv.Addr, "-insecure",
		"-header", "x-test=1", guest("cguest.wasm"), "run")
	r.wantCode(t, exitOK)
	if strings.Contains(r.stdout, "trace ") || strings.Contains(r.stdout, "metrics") {
		t.Errorf("stdout has a tree or metrics with -exporter otlp:\n%s", r.stdout)
	}

	spans := rcv.Spans()
	byName := map[string]*tracepb.Span{}
	for _, s := range spans {
		byName[s.Span.GetName()] = s.Span
	}
	root := byName[callerSpanName]
	if root == nil {
		t.Fatalf("no %q span among %d received", callerSpanName, len(spans))
	}
	tid := hex.EncodeToString(root.GetTraceId())
	wantContains(t, "stderr", r.stderr, "extism-observe: trace "+tid+" sent over OTLP/gRPC to "+rcv.Addr)
	// The parent of each span, by name: the guest's spans under the call
	// span, under the caller span, all in one trace.
	for child, parent := range map[string]string{"run": callerSpanName, "handle_request": "run", "db.query": "handle_request"} {
		c, p := byName[child], byName[parent]
		if c == nil || p == nil {
			t.Fatalf("spans %q and %q: got %v, %v", child, parent, c, p)
		}
		if string(c.GetParentSpanId()) != string(p.GetSpanId()) || string(c.GetTraceId()) != string(root.GetTraceId()) {
			t.Errorf("span %q is not a child of %q in trace %s", child, parent, tid)
		}
	}

	if _, ok := rcv.Metric("db.queries"); !ok {
		t.Errorf("metric db.queries not received")
	}

	var logs []string
	for _, rl := range rcv.LogRecords() {
		l := rl.Record
		logs = append(logs, l.GetBody().GetStringValue())
		if hex.EncodeToString(l.GetTraceId()) != tid {
			t.Errorf("log %q is in trace %x, want %s", l.GetBody().GetStringValue(), l.GetTraceId(), tid)
		}
	}
	if len(logs) == 0 {
		t.Error("no guest log received")
	}
}

// -exporter jaeger sends traces only: against a backend that takes traces
// alone (Jaeger's OTLP receiver answers metrics and logs Unimplemented),
// the run succeeds, where -exporter otlp reports the telemetry it could not
// deliver.
func TestRunJaegerPreset(t *testing.T) {
	t.Parallel()
	rcv := testutil.NewReceiver(t, "grpc", testutil.Traces)
	r := runCmd(t, "run", "-exporter", "jaeger", "-endpoint", rcv.Addr, guest("cguest.wasm"), "run")
	r.wantCode(t, exitOK)
	wantContains(t, "stderr", r.stderr, "sent over OTLP/gRPC to Jaeger at "+rcv.Addr+" (traces only)")
	if n := len(rcv.Spans()); n == 0 {
		t.Error("no span received")
	}

	r = runCmd(t, "run", "-exporter", "otlp", "-endpoint", rcv.Addr, "-insecure", guest("cguest.wasm"), "run")
	r.wantCode(t, exitSetup)
	wantContains(t, "stderr", r.stderr, "telemetry not delivered", "Unimplemented")
}

// -exporter collector sends all three signals to host:port, in plaintext.
func TestRunCollectorPreset(t *testing.T) {
	t.Parallel()
	rcv := testutil.NewReceiver(t, "grpc")
	r := runCmd(t, "run", "-exporter", "collector", "-endpoint", rcv.Addr, guest("cguest.wasm"), "run")
	r.wantCode(t, exitOK)
	wantContains(t, "stderr", r.stderr, "sent over OTLP/gRPC to the Collector at "+rcv.Addr)
	if len(rcv.Spans()) == 0 || len(rcv.LogRecords()) == 0 {
		t.Errorf("got %d spans and %d log records", len(rcv.Spans()), len(rcv.LogRecords()))
	}
	if _, ok := rcv.Metric("db.queries"); !ok {
		t.Error("metric db.queries not received")
	}
}

// gRPC with TLS to a plaintext receiver times out with no more than
// "deadline exceeded"; the run says what to try.
func TestRunTLSHint(t *testing.T) {
	t.Parallel()
	rcv := testutil.NewReceiver(t, "grpc")
	r := runCmd(t, "run", "-exporter", "otlp", "-endpoint", rcv.Addr, guest("cguest.wasm"), "run")
	r.wantCode(t, exitSetup)
	wantContains(t, "stderr", r.stderr, "telemetry not delivered", "hint: gRPC with TLS to an endpoint that speaks plaintext", "add -insecure")
}

// -log-level decides the OTLP log records too: at error, the guest's info,
// warn and trace logs are not exported.
func TestRunLogLevelFiltersOTLPLogs(t *testing.T) {
	t.Parallel()
	rcv := testutil.NewReceiver(t, "grpc")
	r := runCmd(t, "run", "-exporter", "collector", "-endpoint", rcv.Addr, "-log-level", "error", guest("cguest.wasm"), "run")
	r.wantCode(t, exitOK)
	var got []string
	for _, l := range rcv.LogRecords() {
		got = append(got, l.Record.GetSeverityText()+" "+l.Record.GetBody().GetStringValue())
	}
	if len(got) != 1 || !strings.HasPrefix(got[0], "error ") {
		t.Errorf("log records %q, want the one error", got)
	}
}

// TRACEPARENT in the environment: the run's root span joins that trace,
// under the span it names.
func TestRunTraceparent(t *testing.T) {
	t.Setenv("TRACEPARENT", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
	t.Setenv("TRACESTATE", "vendor=x")
	rcv := testutil.NewReceiver(t, "grpc")
	r := runCmd(t, "run", "-exporter", "collector", "-endpoint", rcv.Addr, guest("cguest.wasm"), "run")
	r.wantCode(t, exitOK)
	for _, s := range rcv.Spans() {
		if s.Span.GetName() != callerSpanName {
			continue
		}
		if tid, pid := hex.EncodeToString(s.Span.GetTraceId()), hex.EncodeToString(s.Span.GetParentSpanId()); tid != "0af7651916cd43dd8448eb211c80319c" || pid != "b7ad6b7169203331" {
			t.Errorf("root span in trace %s under %s, want TRACEPARENT's", tid, pid)
		}
		if ts := s.Span.GetTraceState(); ts != "vendor=x" {
			t.Errorf("trace state %q, want TRACESTATE's", ts)
		}
		return
	}
	t.Fatal("no root span received")
}
