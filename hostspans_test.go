package observe_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	extism "github.com/extism/go-sdk"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/extism-observe/observe"
)

// With WithHostFunctionSpans, each call of one of the app's host functions
// is a span under the innermost guest span, and the app's own spans nest
// under it; the Observe API's own functions get none.
func TestHostFunctionSpans(t *testing.T) {
	h := newHarness(t, observe.WithHostFunctionSpans("app_*"))
	var seen []string
	appWork := extism.NewHostFunctionWithStack("app_work", func(ctx context.Context, _ *extism.CurrentPlugin, _ []uint64) {
		parent := observe.SpanFromContext(ctx)
		seen = append(seen, parent.(sdktrace.ReadOnlySpan).Name())
		_, span := h.tp.Tracer("app").Start(trace.ContextWithSpan(ctx, parent), "app.query")
		span.End()
	}, nil, nil)
	p := h.plugin("hostcall.wasm", false, appWork)
	req := h.request(func(ctx context.Context) { call(t, p, ctx, "run") })
	if !slices.Equal(seen, []string{"app_work", "app_work"}) {
		t.Errorf("inside the host function SpanFromContext gave %q, want its span", seen)
	}
	want := []string{
		"request", "request > run", "request > run > app_work", "request > run > app_work > app.query",
		"request > run > guest.outer", "request > run > guest.outer > app_work", "request > run > guest.outer > app_work > app.query",
	}
	if got := h.tree(req.TraceID()); !slices.Equal(got, want) {
		t.Fatalf("tree:\n got %q\nwant %q", got, want)
	}
	for _, s := range h.rec.Ended() {
		if s.Name() == "app_work" && attrs(s)["extism.host_function.namespace"] != "extism:host/user" {
			t.Errorf("app_work attributes %v", attrs(s))
		}
	}
}

// A host function that panics fails the call; its span says so, with the
// standard exception event.
func TestHostFunctionSpanOfAPanic(t *testing.T) {
	h := newHarness(t, observe.WithHostFunctionSpans("*"))
	appWork := extism.NewHostFunctionWithStack("app_work", func(context.Context, *extism.CurrentPlugin, []uint64) {
		panic(errors.New("database unreachable"))
	}, nil, nil)
	p := h.plugin("hostcall.wasm", false, appWork)
	var err error
	req := h.request(func(ctx context.Context) { _, _, err = p.CallWithContext(ctx, "run", nil) })
	if err == nil {
		t.Fatal("the call did not fail")
	}
	var span sdktrace.ReadOnlySpan
	for _, s := range h.rec.Ended() {
		if s.SpanContext().TraceID() == req.TraceID() && s.Name() == "app_work" {
			span = s
		}
	}
	if span == nil {
		t.Fatalf("no app_work span: %q", h.tree(req.TraceID()))
	}
	if st := span.Status(); st.Code != codes.Error || st.Description != "database unreachable (recovered by wazero)" {
		t.Errorf("status %+v", st)
	}
	var exception bool
	for _, e := range span.Events() {
		if e.Name == "exception" {
			exception = true
		}
	}
	if !exception {
		t.Errorf("no exception event: %v", span.Events())
	}
	if started, ended := len(h.rec.Started()), len(h.rec.Ended()); started != ended {
		t.Errorf("%d spans started, %d ended", started, ended)
	}
}
