package main

import (
	"context"
	"encoding/hex"
	"net"
	"strings"
	"sync"
	"testing"

	collogspb "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	colmetricspb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	metricspb "go.opentelemetry.io/proto/otlp/metrics/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/grpc"
)

// receiver is an OTLP/gRPC receiver on loopback that keeps what it is sent.
type receiver struct {
	addr string

	mu      sync.Mutex
	spans   []*tracepb.Span
	metrics []*metricspb.Metric
	logs    []*logspb.LogRecord
}

func newReceiver(t *testing.T) *receiver {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &receiver{addr: lis.Addr().String()}
	s := grpc.NewServer()
	coltracepb.RegisterTraceServiceServer(s, traceService{r: r})
	colmetricspb.RegisterMetricsServiceServer(s, metricsService{r: r})
	collogspb.RegisterLogsServiceServer(s, logsService{r: r})
	go func() { _ = s.Serve(lis) }()
	t.Cleanup(s.Stop)
	return r
}

type traceService struct {
	coltracepb.UnimplementedTraceServiceServer
	r *receiver
}

func (s traceService) Export(_ context.Context, req *coltracepb.ExportTraceServiceRequest) (*coltracepb.ExportTraceServiceResponse, error) {
	s.r.mu.Lock()
	defer s.r.mu.Unlock()
	for _, rs := range req.GetResourceSpans() {
		for _, ss := range rs.GetScopeSpans() {
			s.r.spans = append(s.r.spans, ss.GetSpans()...)
		}
	}
	return &coltracepb.ExportTraceServiceResponse{}, nil
}

type metricsService struct {
	colmetricspb.UnimplementedMetricsServiceServer
	r *receiver
}

func (s metricsService) Export(_ context.Context, req *colmetricspb.ExportMetricsServiceRequest) (*colmetricspb.ExportMetricsServiceResponse, error) {
	s.r.mu.Lock()
	defer s.r.mu.Unlock()
	for _, rm := range req.GetResourceMetrics() {
		for _, sm := range rm.GetScopeMetrics() {
			s.r.metrics = append(s.r.metrics, sm.GetMetrics()...)
		}
	}
	return &colmetricspb.ExportMetricsServiceResponse{}, nil
}

type logsService struct {
	collogspb.UnimplementedLogsServiceServer
	r *receiver
}

func (s logsService) Export(_ context.Context, req *collogspb.ExportLogsServiceRequest) (*collogspb.ExportLogsServiceResponse, error) {
	s.r.mu.Lock()
	defer s.r.mu.Unlock()
	for _, rl := range req.GetResourceLogs() {
		for _, sl := range rl.GetScopeLogs() {
			s.r.logs = append(s.r.logs, sl.GetLogRecords()...)
		}
	}
	return &collogspb.ExportLogsServiceResponse{}, nil
}

// TestRunOTLP sends a call's telemetry to a loopback receiver. Shutting the
// providers down, before run returns, delivers everything: no waiting.
func TestRunOTLP(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t)
	r := runCmd(t, "run", "-exporter", "otlp", "-protocol", "grpc", "-endpoint", rcv.addr, "-insecure",
		"-header", "x-test=1", guest("cguest.wasm"), "run")
	r.wantCode(t, exitOK)
	if strings.Contains(r.stdout, "trace ") || strings.Contains(r.stdout, "metrics") {
		t.Errorf("stdout has a tree or metrics with -exporter otlp:\n%s", r.stdout)
	}

	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	byName := map[string]*tracepb.Span{}
	for _, s := range rcv.spans {
		byName[s.GetName()] = s
	}
	root := byName[callerSpanName]
	if root == nil {
		t.Fatalf("no %q span among %d received", callerSpanName, len(rcv.spans))
	}
	tid := hex.EncodeToString(root.GetTraceId())
	wantContains(t, "stderr", r.stderr, "extism-observe: trace "+tid+" sent over OTLP/gRPC to "+rcv.addr)
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

	metrics := map[string]bool{}
	for _, m := range rcv.metrics {
		metrics[m.GetName()] = true
	}
	if !metrics["db.queries"] {
		t.Errorf("metric db.queries not received; got %v", metrics)
	}

	var logs []string
	for _, l := range rcv.logs {
		logs = append(logs, l.GetBody().GetStringValue())
		if hex.EncodeToString(l.GetTraceId()) != tid {
			t.Errorf("log %q is in trace %x, want %s", l.GetBody().GetStringValue(), l.GetTraceId(), tid)
		}
	}
	if len(logs) == 0 {
		t.Error("no guest log received")
	}
}
