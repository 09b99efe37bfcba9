package observe

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"sync"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// Outbound HTTP from guests: Extism's http_request (extism:host/env) as
// OpenTelemetry HTTP client spans, carrying the trace to the server.
//
// Extism gives no hook around the request it makes, and sends every one
// through http.DefaultClient, with the ctx of the plugin call. The first
// Observer made with HTTP spans on (the default) puts a RoundTripper around
// http.DefaultClient's transport, once for the process. It acts only on a
// request that Extism's http_request sends, on the goroutine of an
// observed call: it starts the client span under the innermost open guest
// span, adds the propagator's headers to a copy of the request (headers
// the guest set, its own traceparent included, are kept), and ends the
// span with the response status when the body is closed. Every other
// request, the app's own included, passes straight through: one ctx lookup.
//
// A wazero listener on http_request would see the request too, but it has
// to be on Extism's host module, which the Extism SDK builds afresh for
// every plugin: wazero v1.9 then compiles listener code for each of its
// function types, and keeps it in the engine for good. With a shared
// compilation cache that is memory and executable mappings for every
// plugin ever created (see RATIONALE.md). The transport costs nothing at
// plugin creation.
//
// A request Extism refuses before it sends anything (a host the manifest
// does not allow, a request that is not JSON, a URL that does not parse)
// never reaches the transport. Extism panics, the call fails, and the call
// span's end (finish) adds the client span, named HTTP (the method is not
// known), with Extism's reason.

// installTransport puts the observer's RoundTripper around
// http.DefaultClient's transport, once.
var installTransport = sync.OnceFunc(func() {
	http.DefaultClient.Transport = &transport{next: http.DefaultClient.Transport}
})

// transport is the RoundTripper around http.DefaultClient's transport.
type transport struct {
	next http.RoundTripper // nil: http.DefaultTransport, as http.Client does
}

func (t *transport) base() http.RoundTripper {
	if t.next != nil {
		return t.next
	}
	return http.DefaultTransport
}

// RoundTrip implements http.RoundTripper.
func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	key, c := pluginCall(req.Context())
	switch {
	case key == nil:
		return t.base().RoundTrip(req) // not in an Extism call
	case c == nil:
		if o := inertObserver(key); o != nil && o.httpSpans && sentByExtism() {
			// An inert Observer's plugin: the request carries the
			// caller's trace context, as in a silent call (inert.go).
			return t.base().RoundTrip(withTraceHeaders(req, req.Context(), o.propagator))
		}
		return t.base().RoundTrip(req)
	case !c.obs.httpSpans || !sentByExtism():
		return t.base().RoundTrip(req)
	}
	return c.roundTrip(t.base(), req)
}

// extismHTTPRequest is the Extism SDK's host function behind http_request.
const extismHTTPRequest = "github.com/extism/go-sdk.httpRequest"

// sentByExtism reports whether the request being sent comes from Extism's
// http_request, on this goroutine: the goroutine of the call, whose state
// the client span is made from. TestHTTPClientSpans fails if a new Extism
// SDK renames the function.
func sentByExtism() bool {
	var pcs [24]uintptr
	n := runtime.Callers(3, pcs[:])
	frames := runtime.CallersFrames(pcs[:n])
	for {
		f, more := frames.Next()
		if f.Function == extismHTTPRequest {
			return true
		}
		if !more {
			return false
		}
	}
}

// knownMethods are the methods the HTTP semantic conventions name spans
// and attributes after; any other is "_OTHER", with the method kept in
// http.request.method_original.
var knownMethods = map[string]bool{
	"GET": true, "HEAD": true, "POST": true, "PUT": true, "DELETE": true,
	"CONNECT": true, "OPTIONS": true, "TRACE": true, "PATCH": true,
}

// roundTrip sends req, a guest's request, through next as a client span.
func (c *call) roundTrip(next http.RoundTripper, req *http.Request) (*http.Response, error) {
	parent := c.ctx // a silent call has no spans: the caller's
	if !c.silent {
		parent, _ = c.live()
	}
	name, attrs := requestAttributes(req.Method, req.URL)
	opts := []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...)}
	spanCtx, span := c.tracer.Start(parent, name, opts...)

	resp, err := next.RoundTrip(withTraceHeaders(req, spanCtx, c.obs.propagator))
	if err != nil {
		errorType := errOther
		var netErr net.Error
		if errors.As(err, &netErr) && netErr.Timeout() {
			errorType = "timeout"
		}
		span.SetAttributes(semconv.ErrorTypeKey.String(errorType))
		recordException(span, err)
		span.SetStatus(codes.Error, err.Error())
		span.End()
		c.httpFailed = true // Extism's panic that follows is this span's
		return nil, err
	}
	code := resp.StatusCode
	span.SetAttributes(semconv.HTTPResponseStatusCode(code))
	if code >= 400 { // a client span's error, by the conventions
		span.SetAttributes(semconv.ErrorTypeKey.String(strconv.Itoa(code)))
		span.SetStatus(codes.Error, "")
	}
	if resp.Body == nil || resp.Body == http.NoBody {
		span.End()
		return resp, nil
	}
	resp.Body = &spanBody{ReadCloser: resp.Body, span: span}
	return resp, nil
}

// withTraceHeaders returns req, or when propagator has headers for the
// trace context of ctx, a copy of req with those the guest did not set
// itself (its own traceparent included): a RoundTripper must not change
// the request it is given.
func withTraceHeaders(req *http.Request, ctx context.Context, propagator propagation.TextMapPropagator) *http.Request {
	carrier := propagation.HeaderCarrier{}
	propagator.Inject(ctx, carrier)
	if len(carrier) == 0 {
		return req
	}
	req = req.Clone(req.Context())
	for k, v := range carrier {
		if req.Header.Get(k) == "" {
			req.Header[k] = v
		}
	}
	return req
}

// requestAttributes are the span name and attributes of a request, as the
// HTTP client conventions have them.
func requestAttributes(method string, u *url.URL) (string, []attribute.KeyValue) {
	method = strings.ToUpper(method)
	if method == "" {
		method = "GET" // as net/http and Extism do
	}
	name := method
	attrs := make([]attribute.KeyValue, 0, 5)
	if knownMethods[method] {
		attrs = append(attrs, semconv.HTTPRequestMethodKey.String(method))
	} else {
		name = "HTTP"
		attrs = append(attrs, semconv.HTTPRequestMethodKey.String("_OTHER"), semconv.HTTPRequestMethodOriginal(method))
	}
	return name, append(attrs, urlAttributes(u)...)
}

// urlAttributes are url.full (without credentials), server.address and
// server.port of u.
func urlAttributes(u *url.URL) []attribute.KeyValue {
	if u == nil {
		return nil
	}
	attrs := []attribute.KeyValue{semconv.URLFull(redacted(u)), semconv.ServerAddress(u.Hostname())}
	if port := serverPort(u); port > 0 {
		attrs = append(attrs, semconv.ServerPort(port))
	}
	return attrs
}

// spanBody ends the client span when the response body is read to its end
// or closed, whichever comes first: Extism reads it all, then closes it.
type spanBody struct {
	io.ReadCloser
	span trace.Span
	once sync.Once
}

func (b *spanBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF {
		b.end()
	}
	return n, err
}

func (b *spanBody) Close() error {
	err := b.ReadCloser.Close()
	b.end()
	return err
}

func (b *spanBody) end() { b.once.Do(func() { b.span.End() }) }

// refusedRequest adds the client span of a guest request that Extism
// refused before sending it, when err, the call's failure, is Extism's
// panic in http_request and no failed request was recorded in the call.
func (c *call) refusedRequest(ctx context.Context, err error) {
	if c.httpFailed || !c.obs.httpSpans {
		return
	}
	msg, stack := splitTrace(err.Error())
	// wazero's wasm stack trace opens with the host function that panicked.
	if !strings.HasPrefix(stack, "wasm stack trace:\n\t"+extismEnv+".http_request(") {
		return
	}
	msg = strings.TrimSuffix(msg, " (recovered by wazero)")
	var attrs []attribute.KeyValue
	errorType := errOther
	// Extism's words for a host its manifest does not allow.
	if rest, ok := strings.CutPrefix(msg, "HTTP request to '"); ok {
		if raw, ok := strings.CutSuffix(rest, "' is not allowed"); ok {
			errorType = "host_not_allowed"
			if u, err := url.Parse(raw); err == nil {
				attrs = urlAttributes(u)
			}
		}
	}
	attrs = append(attrs, semconv.ErrorTypeKey.String(errorType))
	_, span := c.tracer.Start(ctx, "HTTP", trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
	span.SetStatus(codes.Error, msg)
	span.End()
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
