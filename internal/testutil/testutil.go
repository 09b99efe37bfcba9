// Package testutil holds what the tests of several packages share: a
// lock-guarded buffer for log output, and a real OTLP receiver on loopback.
// Only tests import it.
package testutil

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"unsafe"

	collogspb "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	colmetricspb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	metricspb "go.opentelemetry.io/proto/otlp/metrics/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/stats"
	"google.golang.org/protobuf/proto"
)

// Receiver is a real OTLP receiver on loopback, gRPC or HTTP, that keeps
// what it is sent.
type Receiver struct {
	Protocol string // as given to NewReceiver
	Addr     string // host:port
	// Arrived gets the signal of each export, as it arrives.
	Arrived chan Signal

	mu       sync.Mutex
	requests []Request
	// encodings has the content coding of every request: Content-Encoding
	// over HTTP, the grpc-encoding compressor over gRPC; "" for none.
	encodings []string
}

// Signal is the kind of telemetry of an export.
type Signal uint8

const (
	Traces Signal = iota
	Metrics
	Logs
)

func (s Signal) String() string { return [...]string{"traces", "metrics", "logs"}[s] }

// Request is one export that the receiver got.
type Request struct {
	Signal Signal
	// Headers are the HTTP headers, or the gRPC metadata, keys lower-cased.
	Headers map[string][]string
	Path    string // HTTP only
	Traces  []*tracepb.ResourceSpans
	Metrics []*metricspb.ResourceMetrics
	Logs    []*logspb.ResourceLogs
}

// Header returns the first value of a header of the request.
func (r *Request) Header(key string) string {
	if v := r.Headers[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// NewReceiver starts a receiver for protocol p ("grpc", or "http" or
// "http/protobuf") on 127.0.0.1, stopped when the test ends. With only, a
// gRPC receiver serves those signals alone and answers the others
// Unimplemented, as Jaeger does for metrics and logs.
func NewReceiver(t testing.TB, p string, only ...Signal) *Receiver {
	t.Helper()
	r := &Receiver{Protocol: p, Arrived: make(chan Signal, 1000)}
	serves := func(s Signal) bool { return len(only) == 0 || slices.Contains(only, s) }
	switch p {
	case "grpc":
		lis, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		s := grpc.NewServer(grpc.StatsHandler(grpcEncodings{r: r}))
		if serves(Traces) {
			coltracepb.RegisterTraceServiceServer(s, grpcTraces{r: r})
		}
		if serves(Metrics) {
			colmetricspb.RegisterMetricsServiceServer(s, grpcMetrics{r: r})
		}
		if serves(Logs) {
			collogspb.RegisterLogsServiceServer(s, grpcLogs{r: r})
		}
		go func() { _ = s.Serve(lis) }()
		t.Cleanup(s.Stop)
		r.Addr = lis.Addr().String()
	case "http", "http/protobuf":
		if len(only) > 0 {
			t.Fatal("testutil: only is for gRPC receivers")
		}
		srv := httptest.NewServer(http.HandlerFunc(r.serveHTTP))
		t.Cleanup(srv.Close)
		r.Addr = srv.Listener.Addr().String()
	default:
		t.Fatalf("no receiver for protocol %q", p)
	}
	return r
}

// URL is the receiver's endpoint as a plaintext URL, for WithEndpoint and
// OTEL_EXPORTER_OTLP_ENDPOINT.
func (r *Receiver) URL() string { return "http://" + r.Addr }

func (r *Receiver) add(req Request) {
	r.mu.Lock()
	r.requests = append(r.requests, req)
	r.mu.Unlock()
	r.Arrived <- req.Signal
}

// Got returns the requests received so far for signal s.
func (r *Receiver) Got(s Signal) []Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Request
	for _, req := range r.requests {
		if req.Signal == s {
			out = append(out, req)
		}
	}
	return out
}

// Count is the number of exports received.
func (r *Receiver) Count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.requests)
}

func incomingHeaders(ctx context.Context) map[string][]string {
	md, _ := metadata.FromIncomingContext(ctx)
	return md
}

// grpcEncodings records the compressor of each gRPC request, which the
// handlers cannot see.
type grpcEncodings struct{ r *Receiver }

func (grpcEncodings) TagRPC(ctx context.Context, _ *stats.RPCTagInfo) context.Context { return ctx }
func (grpcEncodings) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context {
	return ctx
}
func (grpcEncodings) HandleConn(context.Context, stats.ConnStats) {}
func (g grpcEncodings) HandleRPC(_ context.Context, s stats.RPCStats) {
	if h, ok := s.(*stats.InHeader); ok && !h.IsClient() {
		g.r.mu.Lock()
		g.r.encodings = append(g.r.encodings, h.Compression)
		g.r.mu.Unlock()
	}
}

// ContentEncodings has the content coding of every request received.
func (r *Receiver) ContentEncodings() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.encodings...)
}

type grpcTraces struct {
	coltracepb.UnimplementedTraceServiceServer
	r *Receiver
}

func (g grpcTraces) Export(ctx context.Context, req *coltracepb.ExportTraceServiceRequest) (*coltracepb.ExportTraceServiceResponse, error) {
	g.r.add(Request{Signal: Traces, Headers: incomingHeaders(ctx), Traces: req.GetResourceSpans()})
	return &coltracepb.ExportTraceServiceResponse{}, nil
}

type grpcMetrics struct {
	colmetricspb.UnimplementedMetricsServiceServer
	r *Receiver
}

func (g grpcMetrics) Export(ctx context.Context, req *colmetricspb.ExportMetricsServiceRequest) (*colmetricspb.ExportMetricsServiceResponse, error) {
	g.r.add(Request{Signal: Metrics, Headers: incomingHeaders(ctx), Metrics: req.GetResourceMetrics()})
	return &colmetricspb.ExportMetricsServiceResponse{}, nil
}

type grpcLogs struct {
	collogspb.UnimplementedLogsServiceServer
	r *Receiver
}

func (g grpcLogs) Export(ctx context.Context, req *collogspb.ExportLogsServiceRequest) (*collogspb.ExportLogsServiceResponse, error) {
	g.r.add(Request{Signal: Logs, Headers: incomingHeaders(ctx), Logs: req.GetResourceLogs()})
	return &collogspb.ExportLogsServiceResponse{}, nil
}

// serveHTTP handles OTLP/HTTP posts of protobuf, gzipped or not, to any
// path ending in /v1/traces, /v1/metrics or /v1/logs; the test checks the
// path.
func (r *Receiver) serveHTTP(w http.ResponseWriter, hr *http.Request) {
	if hr.Method != http.MethodPost {
		http.Error(w, "want POST", http.StatusMethodNotAllowed)
		return
	}
	if ct := hr.Header.Get("Content-Type"); ct != "application/x-protobuf" {
		http.Error(w, "want application/x-protobuf, got "+ct, http.StatusUnsupportedMediaType)
		return
	}
	var body io.Reader = hr.Body
	if hr.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(hr.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		body = zr
	}
	data, err := io.ReadAll(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	r.encodings = append(r.encodings, hr.Header.Get("Content-Encoding"))
	r.mu.Unlock()
	req := Request{Path: hr.URL.Path, Headers: map[string][]string{}}
	for k, v := range hr.Header {
		req.Headers[strings.ToLower(k)] = v
	}
	var in, out proto.Message
	switch {
	case strings.HasSuffix(hr.URL.Path, "/v1/traces"):
		in, out = &coltracepb.ExportTraceServiceRequest{}, &coltracepb.ExportTraceServiceResponse{}
	case strings.HasSuffix(hr.URL.Path, "/v1/metrics"):
		in, out = &colmetricspb.ExportMetricsServiceRequest{}, &colmetricspb.ExportMetricsServiceResponse{}
	case strings.HasSuffix(hr.URL.Path, "/v1/logs"):
		in, out = &collogspb.ExportLogsServiceRequest{}, &collogspb.ExportLogsServiceResponse{}
	default:
		http.NotFound(w, hr)
		return
	}
	if err := proto.Unmarshal(data, in); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	switch m := in.(type) {
	case *coltracepb.ExportTraceServiceRequest:
		req.Signal, req.Traces = Traces, m.GetResourceSpans()
	case *colmetricspb.ExportMetricsServiceRequest:
		req.Signal, req.Metrics = Metrics, m.GetResourceMetrics()
	case *collogspb.ExportLogsServiceRequest:
		req.Signal, req.Logs = Logs, m.GetResourceLogs()
	}
	resp, err := proto.Marshal(out)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	r.add(req)
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(resp)
}

// The helpers below flatten what a receiver got.

// Span is a span received, with its scope's name and its resource.
type Span struct {
	Span     *tracepb.Span
	Scope    string
	Resource *resourcepb.Resource
}

// Spans returns every span received.
func (r *Receiver) Spans() []Span {
	var out []Span
	for _, req := range r.Got(Traces) {
		for _, rs := range req.Traces {
			for _, ss := range rs.GetScopeSpans() {
				for _, s := range ss.GetSpans() {
					out = append(out, Span{Span: s, Scope: ss.GetScope().GetName(), Resource: rs.GetResource()})
				}
			}
		}
	}
	return out
}

// Metric is a metric received, with its resource.
type Metric struct {
	Metric   *metricspb.Metric
	Resource *resourcepb.Resource
}

// Metric returns the last of the named metric received.
func (r *Receiver) Metric(name string) (Metric, bool) {
	var out Metric
	var found bool
	for _, req := range r.Got(Metrics) {
		for _, rm := range req.Metrics {
			for _, sm := range rm.GetScopeMetrics() {
				for _, m := range sm.GetMetrics() {
					if m.GetName() == name {
						out, found = Metric{Metric: m, Resource: rm.GetResource()}, true
					}
				}
			}
		}
	}
	return out, found
}

// Log is a log record received, with its resource.
type Log struct {
	Record   *logspb.LogRecord
	Resource *resourcepb.Resource
}

// LogRecords returns every log record received.
func (r *Receiver) LogRecords() []Log {
	var out []Log
	for _, req := range r.Got(Logs) {
		for _, rl := range req.Logs {
			for _, sl := range rl.GetScopeLogs() {
				for _, l := range sl.GetLogRecords() {
					out = append(out, Log{Record: l, Resource: rl.GetResource()})
				}
			}
		}
	}
	return out
}

// Attrs turns OTLP attributes into a map of their values as strings, ints,
// floats or bools.
func Attrs(kvs []*commonpb.KeyValue) map[string]any {
	m := make(map[string]any, len(kvs))
	for _, kv := range kvs {
		switch v := kv.GetValue().GetValue().(type) {
		case *commonpb.AnyValue_StringValue:
			m[kv.GetKey()] = v.StringValue
		case *commonpb.AnyValue_IntValue:
			m[kv.GetKey()] = v.IntValue
		case *commonpb.AnyValue_DoubleValue:
			m[kv.GetKey()] = v.DoubleValue
		case *commonpb.AnyValue_BoolValue:
			m[kv.GetKey()] = v.BoolValue
		default:
			m[kv.GetKey()] = kv.GetValue().String()
		}
	}
	return m
}

// Buffer is a bytes.Buffer safe for concurrent use: the destination of log
// output written by other goroutines and read by the test.
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns what was written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Reset forgets what was written, and frees its memory (tests that measure
// the heap reset the buffer first).
func (b *Buffer) Reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = bytes.Buffer{}
}

// Lines decodes what was written as JSON lines (zerolog's output).
func (b *Buffer) Lines(t testing.TB) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

// Within reports whether sub lies within the memory of s, which proves that
// a parser returned a substring rather than a copy.
func Within(sub, s string) bool {
	if sub == "" {
		return true
	}
	p := uintptr(unsafe.Pointer(unsafe.StringData(sub)))
	start := uintptr(unsafe.Pointer(unsafe.StringData(s)))
	return p >= start && p+uintptr(len(sub)) <= start+uintptr(len(s))
}
