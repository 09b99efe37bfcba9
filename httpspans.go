package observe

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/url"
	"strconv"
	"strings"

	extism "github.com/extism/go-sdk"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// Outbound HTTP from guests: Extism's http_request (extism:host/env) as
// OpenTelemetry HTTP client spans, carrying the trace to the server.
//
// Extism gives no hook around the request it makes. The listener on
// http_request sees the request before Extism does: a JSON document in an
// Extism memory block whose offset is the function's first parameter. It
// reads it (untrusted: what does not parse is left to Extism, which fails
// the call, and the span says so), starts the client span under the
// innermost open guest span, and, when the propagator has something to
// carry, writes the request again with the propagator's headers added, in
// a new block whose offset it puts in place of the guest's (wazero hands
// the host function the parameters as a listener's Before left them;
// TestHTTPClientSpans fails if a new wazero or Extism stops doing so), and
// frees the guest's block. Headers the guest set are kept, its own
// traceparent included. After the request, the status code is the one
// Extism keeps in Plugin.LastStatusCode; a denied host or a transport
// failure is Extism's panic, which the listener sees as Abort.

// httpRequest is Extism's request JSON (extism.HttpRequest, whose fields
// JSON matches case-insensitively).
type httpRequest struct {
	URL     string            `json:"url"`
	Method  string            `json:"method"`
	Headers map[string]string `json:"headers,omitempty"`
}

// httpListener makes the client span of each http_request of a guest.
type httpListener struct{}

var _ experimental.FunctionListener = httpListener{}

// knownMethods are the methods the HTTP semantic conventions name spans
// and attributes after; any other is "_OTHER", with the method kept in
// http.request.method_original.
var knownMethods = map[string]bool{
	"GET": true, "HEAD": true, "POST": true, "PUT": true, "DELETE": true,
	"CONNECT": true, "OPTIONS": true, "TRACE": true, "PATCH": true,
}

func (httpListener) Before(ctx context.Context, _ api.Module, _ api.FunctionDefinition, params []uint64, _ experimental.StackIterator) {
	c := lookupCall(ctx)
	if c == nil || !c.recording || c.http != nil {
		return
	}
	kernel, ok := kernelOf(ctx)
	if !ok {
		return
	}
	parent, _ := c.live()
	var req httpRequest
	raw, ok := readBlock(ctx, kernel, params[0])
	if !ok || json.Unmarshal(raw, &req) != nil {
		// Extism fails the call on it; the span says where.
		_, c.http = c.tracer.Start(parent, "HTTP", trace.WithSpanKind(trace.SpanKindClient))
		return
	}
	method := strings.ToUpper(req.Method)
	if method == "" {
		method = "GET" // as Extism does
	}
	name := method
	attrs := make([]attribute.KeyValue, 0, 6)
	if knownMethods[method] {
		attrs = append(attrs, semconv.HTTPRequestMethodKey.String(method))
	} else {
		name = "HTTP"
		attrs = append(attrs, semconv.HTTPRequestMethodKey.String("_OTHER"), semconv.HTTPRequestMethodOriginal(owned(req.Method)))
	}
	if u, err := url.Parse(req.URL); err == nil {
		attrs = append(attrs, semconv.URLFull(owned(redacted(u))), semconv.ServerAddress(owned(u.Hostname())))
		if port := serverPort(u); port > 0 {
			attrs = append(attrs, semconv.ServerPort(port))
		}
	}
	spanCtx, span := c.tracer.Start(parent, name, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
	c.http = span
	c.propagate(ctx, spanCtx, kernel, params, &req)
}

// propagate writes the request again with the propagator's headers for
// spanCtx added, in place of the guest's block.
func (c *call) propagate(ctx, spanCtx context.Context, kernel api.Module, params []uint64, req *httpRequest) {
	carrier := propagation.MapCarrier{}
	c.obs.propagator.Inject(spanCtx, carrier)
	if len(carrier) == 0 {
		return // nothing to carry: the guest's block goes as it is
	}
	if req.Headers == nil {
		req.Headers = make(map[string]string, len(carrier))
	}
	for k, v := range carrier {
		if !hasHeader(req.Headers, k) {
			req.Headers[k] = v
		}
	}
	b, err := json.Marshal(req)
	if err != nil {
		return
	}
	off, ok := writeBlock(ctx, kernel, b)
	if !ok {
		return
	}
	old := params[0]
	params[0] = off
	if free := kernel.ExportedFunction("free"); free != nil {
		_, _ = free.Call(ctx, old)
	}
}

func hasHeader(h map[string]string, key string) bool {
	for k := range h {
		if strings.EqualFold(k, key) {
			return true
		}
	}
	return false
}

func (httpListener) After(ctx context.Context, _ api.Module, _ api.FunctionDefinition, _ []uint64) {
	c := lookupCall(ctx)
	if c == nil || c.http == nil {
		return
	}
	span := c.http
	c.http = nil
	if p, ok := c.key.(*extism.Plugin); ok && p.LastStatusCode > 0 {
		code := p.LastStatusCode
		span.SetAttributes(semconv.HTTPResponseStatusCode(code))
		if code >= 400 { // a client span's error, by the conventions
			span.SetAttributes(semconv.ErrorTypeKey.String(strconv.Itoa(code)))
			span.SetStatus(codes.Error, "")
		}
	}
	span.End()
}

func (httpListener) Abort(ctx context.Context, _ api.Module, _ api.FunctionDefinition, err error) {
	c := lookupCall(ctx)
	if c == nil || c.http == nil {
		return
	}
	span := c.http
	c.http = nil
	msg := strings.TrimSuffix(firstLine(err.Error()), " (recovered by wazero)")
	errorType := errOther
	var netErr net.Error
	switch {
	case strings.Contains(msg, "is not allowed"):
		errorType = "host_not_allowed" // the manifest's AllowedHosts
	case errors.As(err, &netErr) && netErr.Timeout():
		errorType = "timeout"
	}
	span.SetAttributes(semconv.ErrorTypeKey.String(errorType))
	recordException(span, err)
	span.SetStatus(codes.Error, msg)
	span.End()
}

// readBlock returns the bytes of the Extism memory block at offset,
// bounded by the kernel's memory.
func readBlock(ctx context.Context, kernel api.Module, offset uint64) ([]byte, bool) {
	mem := kernel.Memory()
	if mem == nil || offset > 1<<32-1 {
		return nil, false
	}
	n, ok := blockLength(ctx, kernel, offset)
	if !ok || n > 1<<32-1 {
		return nil, false
	}
	return mem.Read(uint32(offset), uint32(n))
}

// writeBlock allocates an Extism memory block holding b.
func writeBlock(ctx context.Context, kernel api.Module, b []byte) (uint64, bool) {
	alloc := kernel.ExportedFunction("alloc")
	mem := kernel.Memory()
	if alloc == nil || mem == nil {
		return 0, false
	}
	out, err := alloc.Call(ctx, uint64(len(b)))
	if err != nil || len(out) != 1 || out[0] == 0 || out[0] > 1<<32-1 {
		return 0, false
	}
	if !mem.Write(uint32(out[0]), b) {
		return 0, false
	}
	return out[0], true
}

// redacted is u as url.full shows it: without credentials.
func redacted(u *url.URL) string {
	if u.User == nil {
		return u.String()
	}
	v := *u
	v.User = url.UserPassword("REDACTED", "REDACTED")
	return v.String()
}

// serverPort is the port of u, explicit or the scheme's; 0 when unknown.
func serverPort(u *url.URL) int {
	if p := u.Port(); p != "" {
		n, _ := strconv.Atoi(p)
		return n
	}
	switch u.Scheme {
	case "http":
		return 80
	case "https":
		return 443
	}
	return 0
}
