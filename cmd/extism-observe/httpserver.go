package main

import (
	"context"
	"fmt"
	"net"
	"net/http"

	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// propagator is how the runner carries the trace: to the servers guests
// call, and into its own -http-server.
var propagator = propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})

// httpServer is the server of -http-server: on 127.0.0.1 only, it answers
// every request with 200 and a short text, in a server span that continues
// the trace the request carries, so that the tree shows the guest's request
// reaching it.
type httpServer struct {
	url string
	srv *http.Server
}

// startHTTPServer starts the server on a free port of 127.0.0.1.
func startHTTPServer(tp trace.TracerProvider) (*httpServer, error) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("-http-server: %w", err)
	}
	tracer := tp.Tracer("extism-observe/http-server")
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := propagator.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
		// The client span is in this process: not a remote parent, so
		// that the tree shows the server's span under it.
		ctx = trace.ContextWithSpanContext(ctx, trace.SpanContextFromContext(ctx).WithRemote(false))
		_, span := tracer.Start(ctx, r.Method+" "+r.URL.Path, trace.WithSpanKind(trace.SpanKindServer),
			trace.WithAttributes(semconv.HTTPRequestMethodKey.String(r.Method), semconv.URLPath(r.URL.Path),
				semconv.HTTPResponseStatusCode(http.StatusOK)))
		defer span.End()
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintf(w, "hello from extism-observe's -http-server: %s %s\n", r.Method, r.URL.Path)
	})
	s := &httpServer{url: "http://" + lis.Addr().String() + "/", srv: &http.Server{Handler: h}}
	go s.srv.Serve(lis)
	return s, nil
}

// stop stops the server, waiting for requests in progress.
func (s *httpServer) stop(ctx context.Context) { _ = s.srv.Shutdown(ctx) }
