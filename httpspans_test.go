package observe_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	extism "github.com/extism/go-sdk"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/extism-observe/observe"
)

// httpPlugin creates a plugin of testdata/http.wasm allowed to reach
// 127.0.0.1 only.
func (h *harness) httpPlugin() *extism.Plugin {
	h.t.Helper()
	m := manifest(h.t, "http.wasm")
	m.AllowedHosts = []string{"127.0.0.1"}
	p, err := extism.NewPlugin(h.obs.Context(context.Background()), m, extism.PluginConfig{}, h.obs.HostFunctions())
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { p.Close(context.Background()) })
	return p
}

// clientSpan returns the one client span of trace tid.
func (h *harness) clientSpan(tid trace.TraceID) sdktrace.ReadOnlySpan {
	h.t.Helper()
	var out sdktrace.ReadOnlySpan
	for _, s := range h.rec.Ended() {
		if s.SpanContext().TraceID() == tid && s.SpanKind() == trace.SpanKindClient {
			if out != nil {
				h.t.Fatalf("two client spans")
			}
			out = s
		}
	}
	if out == nil {
		h.t.Fatalf("no client span in %q", h.tree(tid))
	}
	return out
}

// A guest's request through Extism's http_request is a client span under
// the guest's call, and the server gets its trace context; the guest's
// own headers are kept.
func TestHTTPClientSpans(t *testing.T) {
	var mu sync.Mutex
	var got http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = r.Header.Clone()
		mu.Unlock()
		if strings.HasSuffix(r.URL.Path, "/fail") {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	h := newHarness(t, observe.WithPropagator(propagation.TraceContext{}))
	p := h.httpPlugin()

	req := h.request(func(ctx context.Context) {
		if rc, _, err := p.CallWithContext(ctx, "get", []byte(srv.URL+"/ok?q=1")); rc != 2 || err != nil {
			t.Fatalf("rc=%d err=%v", rc, err)
		}
	})
	span := h.clientSpan(req.TraceID())
	a := attrs(span)
	host, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	if span.Name() != "GET" || a["http.request.method"] != "GET" || a["url.full"] != srv.URL+"/ok?q=1" ||
		a["server.address"] != host || a["server.port"] != int64(mustAtoi(t, port)) || a["http.response.status_code"] != int64(200) {
		t.Errorf("client span %s %v", span.Name(), a)
	}
	if span.Status().Code != codes.Unset || span.Parent().SpanID() != h.spans0(req.TraceID(), "get").SpanContext().SpanID() {
		t.Errorf("status %v, parent %v", span.Status(), span.Parent())
	}
	mu.Lock()
	tp, guest := got.Get("Traceparent"), got.Get("X-Guest")
	mu.Unlock()
	if want := "00-" + req.TraceID().String() + "-" + span.SpanContext().SpanID().String() + "-01"; tp != want {
		t.Errorf("the server got traceparent %q, want %q", tp, want)
	}
	if guest != "1" {
		t.Errorf("the guest's own header was lost: x-guest %q", guest)
	}

	// A status of 400 or more is the client span's error.
	req = h.request(func(ctx context.Context) { p.CallWithContext(ctx, "get", []byte(srv.URL+"/fail")) })
	span = h.clientSpan(req.TraceID())
	if a := attrs(span); span.Status().Code != codes.Error || a["http.response.status_code"] != int64(503) || a["error.type"] != "503" {
		t.Errorf("a 503: status %v, attributes %v", span.Status(), a)
	}
}

// A host the manifest does not allow, a refused connection and a request
// that is not JSON are errors on the client span; the call fails as
// Extism makes it, and every span ends.
func TestHTTPClientSpanErrors(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "http://" + lis.Addr().String() + "/"
	lis.Close()
	for _, tc := range []struct {
		name, fn, input, errorType, desc, span string
	}{
		{"denied host", "get", "http://localhost:1/", "host_not_allowed", "HTTP request to 'http://localhost:1/' is not allowed", "HTTP"},
		{"refused connection", "get", refused, "_OTHER", "connection refused", "GET"},
		{"not JSON", "bad_json", "", "", "invalid http request", "HTTP"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			p := h.httpPlugin()
			var callErr error
			req := h.request(func(ctx context.Context) { _, _, callErr = p.CallWithContext(ctx, tc.fn, []byte(tc.input)) })
			if callErr == nil {
				t.Fatal("the call did not fail")
			}
			span := h.clientSpan(req.TraceID())
			if span.Name() != tc.span || span.Status().Code != codes.Error || !strings.Contains(span.Status().Description, tc.desc) {
				t.Errorf("span %s, status %+v, want Error containing %q", span.Name(), span.Status(), tc.desc)
			}
			if tc.errorType != "" && attrs(span)["error.type"] != tc.errorType {
				t.Errorf("error.type %v, want %q", attrs(span)["error.type"], tc.errorType)
			}
			if tc.errorType == "host_not_allowed" && (attrs(span)["url.full"] != tc.input || attrs(span)["server.address"] != "localhost") {
				t.Errorf("a denied host's span has attributes %v, want its URL", attrs(span))
			}
			if started, ended := len(h.rec.Started()), len(h.rec.Ended()); started != ended {
				t.Errorf("%d spans started, %d ended", started, ended)
			}
		})
	}
}

// headerServer is an HTTP server on loopback that keeps the traceparent of
// each request it gets.
func headerServer(t *testing.T) (*httptest.Server, func() []string) {
	var mu sync.Mutex
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.Header.Get("Traceparent"))
		mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	return srv, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(got)
	}
}

// WithHTTPSpans(false): no client span, and the request goes as the guest
// wrote it.
func TestHTTPSpansTurnedOff(t *testing.T) {
	srv, got := headerServer(t)
	h := newHarness(t, observe.WithHTTPSpans(false), observe.WithPropagator(propagation.TraceContext{}))
	p := h.httpPlugin()
	req := h.request(func(ctx context.Context) {
		if rc, _, err := p.CallWithContext(ctx, "get", []byte(srv.URL)); rc != 2 || err != nil {
			t.Fatalf("rc=%d err=%v", rc, err)
		}
	})
	if tree := h.tree(req.TraceID()); !slices.Equal(tree, []string{"request", "request > get"}) {
		t.Errorf("tree %q", tree)
	}
	if tp := got(); len(tp) != 1 || tp[0] != "" {
		t.Errorf("the server got traceparent %q, want none", tp)
	}
}

// A call the caller's sampler left out records no client span, but the
// server still learns the trace and that it is not sampled, as otelhttp
// tells it.
func TestHTTPSpanOfAnUnsampledCall(t *testing.T) {
	srv, got := headerServer(t)
	h := newHarness(t, observe.WithPropagator(propagation.TraceContext{}))
	p := h.httpPlugin()
	parent := trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{1}, SpanID: trace.SpanID{2}, Remote: true})
	ctx := trace.ContextWithSpanContext(context.Background(), parent)
	if rc, _, err := p.CallWithContext(ctx, "get", []byte(srv.URL)); rc != 2 || err != nil {
		t.Fatalf("rc=%d err=%v", rc, err)
	}
	if n := len(h.rec.Started()); n != 0 {
		t.Errorf("%d spans recorded", n)
	}
	tp := got()
	if len(tp) != 1 || !strings.HasPrefix(tp[0], "00-"+parent.TraceID().String()+"-") || !strings.HasSuffix(tp[0], "-00") {
		t.Errorf("the server got traceparent %q, want the caller's trace, not sampled", tp)
	}
}

// Requests the app sends on http.DefaultClient are left alone, outside a
// call and inside one, from its host functions: only Extism's http_request
// is the observer's to trace.
func TestAppRequestsOnTheDefaultClientPassThrough(t *testing.T) {
	srv, got := headerServer(t)
	h := newHarness(t, observe.WithPropagator(propagation.TraceContext{}), observe.WithHostFunctionSpans("app_*"))
	send := func(ctx context.Context) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	appWork := extism.NewHostFunctionWithStack("app_work", func(ctx context.Context, _ *extism.CurrentPlugin, _ []uint64) {
		send(ctx)
	}, nil, nil)
	p := h.plugin("hostcall.wasm", false, appWork)
	req := h.request(func(ctx context.Context) {
		send(ctx)
		call(t, p, ctx, "run")
	})
	for _, s := range h.rec.Ended() {
		if s.SpanKind() == trace.SpanKindClient {
			t.Errorf("a client span for the app's own request: %s under %v", s.Name(), h.tree(req.TraceID()))
		}
	}
	if tp := got(); len(tp) != 3 || slices.ContainsFunc(tp, func(s string) bool { return s != "" }) {
		t.Errorf("the server got traceparents %q, want none on the app's 3 requests", tp)
	}
}

func mustAtoi(t *testing.T, s string) int {
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			t.Fatalf("port %q", s)
		}
		n = n*10 + int(c-'0')
	}
	return n
}
