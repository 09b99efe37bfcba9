package otlp

import (
	"compress/gzip"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

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

// receiver is a real OTLP receiver on loopback, gRPC or HTTP, that keeps
// what it is sent.
type receiver struct {
	protocol Protocol
	addr     string // host:port
	arrived  chan signal

	mu       sync.Mutex
	requests []request
	// encodings has the content coding of every request: Content-Encoding
	// over HTTP, the grpc-encoding compressor over gRPC; "" for none.
	encodings []string
}

// request is one export that the receiver got.
type request struct {
	signal signal
	// headers are the HTTP headers, or the gRPC metadata, keys lower-cased.
	headers map[string][]string
	path    string // HTTP only
	traces  []*tracepb.ResourceSpans
	metrics []*metricspb.ResourceMetrics
	logs    []*logspb.ResourceLogs
}

func (r *request) header(key string) string {
	if v := r.headers[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// newReceiver starts a receiver for protocol p, stopped when the test ends.
func newReceiver(t *testing.T, p Protocol) *receiver {
	t.Helper()
	r := &receiver{protocol: p, arrived: make(chan signal, 1000)}
	switch p {
	case GRPC:
		lis, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		s := grpc.NewServer(grpc.StatsHandler(grpcEncodings{r: r}))
		coltracepb.RegisterTraceServiceServer(s, grpcTraces{r: r})
		colmetricspb.RegisterMetricsServiceServer(s, grpcMetrics{r: r})
		collogspb.RegisterLogsServiceServer(s, grpcLogs{r: r})
		go func() { _ = s.Serve(lis) }()
		t.Cleanup(s.Stop)
		r.addr = lis.Addr().String()
	case HTTP:
		srv := httptest.NewServer(http.HandlerFunc(r.serveHTTP))
		t.Cleanup(srv.Close)
		r.addr = srv.Listener.Addr().String()
	default:
		t.Fatalf("no receiver for protocol %q", p)
	}
	return r
}

// url is the receiver's endpoint as a plaintext URL, for WithEndpoint and
// OTEL_EXPORTER_OTLP_ENDPOINT.
func (r *receiver) url() string { return "http://" + r.addr }

func (r *receiver) add(req request) {
	r.mu.Lock()
	r.requests = append(r.requests, req)
	r.mu.Unlock()
	r.arrived <- req.signal
}

// got returns the requests received so far for signal s.
func (r *receiver) got(s signal) []request {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []request
	for _, req := range r.requests {
		if req.signal == s {
			out = append(out, req)
		}
	}
	return out
}

func (r *receiver) count() int {
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
type grpcEncodings struct{ r *receiver }

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

func (r *receiver) contentEncodings() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.encodings...)
}

type grpcTraces struct {
	coltracepb.UnimplementedTraceServiceServer
	r *receiver
}

func (g grpcTraces) Export(ctx context.Context, req *coltracepb.ExportTraceServiceRequest) (*coltracepb.ExportTraceServiceResponse, error) {
	g.r.add(request{signal: traces, headers: incomingHeaders(ctx), traces: req.GetResourceSpans()})
	return &coltracepb.ExportTraceServiceResponse{}, nil
}

type grpcMetrics struct {
	colmetricspb.UnimplementedMetricsServiceServer
	r *receiver
}

func (g grpcMetrics) Export(ctx context.Context, req *colmetricspb.ExportMetricsServiceRequest) (*colmetricspb.ExportMetricsServiceResponse, error) {
	g.r.add(request{signal: metrics, headers: incomingHeaders(ctx), metrics: req.GetResourceMetrics()})
	return &colmetricspb.ExportMetricsServiceResponse{}, nil
}

type grpcLogs struct {
	collogspb.UnimplementedLogsServiceServer
	r *receiver
}

func (g grpcLogs) Export(ctx context.Context, req *collogspb.ExportLogsServiceRequest) (*collogspb.ExportLogsServiceResponse, error) {
	g.r.add(request{signal: logs, headers: incomingHeaders(ctx), logs: req.GetResourceLogs()})
	return &collogspb.ExportLogsServiceResponse{}, nil
}

// serveHTTP handles OTLP/HTTP posts of protobuf, gzipped or not, to any
// path ending in /v1/traces, /v1/metrics or /v1/logs; the test checks the
// path.
func (r *receiver) serveHTTP(w http.ResponseWriter, hr *http.Request) {
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
	req := request{path: hr.URL.Path, headers: map[string][]string{}}
	for k, v := range hr.Header {
		req.headers[strings.ToLower(k)] = v
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
		req.signal, req.traces = traces, m.GetResourceSpans()
	case *colmetricspb.ExportMetricsServiceRequest:
		req.signal, req.metrics = metrics, m.GetResourceMetrics()
	case *collogspb.ExportLogsServiceRequest:
		req.signal, req.logs = logs, m.GetResourceLogs()
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

type gotSpan struct {
	span     *tracepb.Span
	scope    string
	resource *resourcepb.Resource
}

func (r *receiver) spans() []gotSpan {
	var out []gotSpan
	for _, req := range r.got(traces) {
		for _, rs := range req.traces {
			for _, ss := range rs.GetScopeSpans() {
				for _, s := range ss.GetSpans() {
					out = append(out, gotSpan{span: s, scope: ss.GetScope().GetName(), resource: rs.GetResource()})
				}
			}
		}
	}
	return out
}

type gotMetric struct {
	metric   *metricspb.Metric
	resource *resourcepb.Resource
}

// metric returns the last point of the named metric received.
func (r *receiver) metric(name string) (gotMetric, bool) {
	var out gotMetric
	var found bool
	for _, req := range r.got(metrics) {
		for _, rm := range req.metrics {
			for _, sm := range rm.GetScopeMetrics() {
				for _, m := range sm.GetMetrics() {
					if m.GetName() == name {
						out, found = gotMetric{metric: m, resource: rm.GetResource()}, true
					}
				}
			}
		}
	}
	return out, found
}

type gotLog struct {
	record   *logspb.LogRecord
	resource *resourcepb.Resource
}

func (r *receiver) logRecords() []gotLog {
	var out []gotLog
	for _, req := range r.got(logs) {
		for _, rl := range req.logs {
			for _, sl := range rl.GetScopeLogs() {
				for _, l := range sl.GetLogRecords() {
					out = append(out, gotLog{record: l, resource: rl.GetResource()})
				}
			}
		}
	}
	return out
}

// attrs turns OTLP attributes into a map of their values as strings, ints,
// floats or bools.
func attrs(kvs []*commonpb.KeyValue) map[string]any {
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
