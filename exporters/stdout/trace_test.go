package stdout

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/extism-observe/observe/internal/testutil"
)

var t0 = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

func traceID(n byte) trace.TraceID {
	var id trace.TraceID
	id[15] = n
	return id
}

func spanID(n byte) trace.SpanID {
	var id trace.SpanID
	id[7] = n
	return id
}

// span makes an ended span of trace tr with ID id, under parent (0: none),
// from start to end milliseconds after t0.
func span(tr, id, parent byte, name string, start, end float64, opts ...func(*tracetest.SpanStub)) sdktrace.ReadOnlySpan {
	ms := func(v float64) time.Time { return t0.Add(time.Duration(v * float64(time.Millisecond))) }
	s := tracetest.SpanStub{
		Name:        name,
		SpanContext: trace.NewSpanContext(trace.SpanContextConfig{TraceID: traceID(tr), SpanID: spanID(id)}),
		StartTime:   ms(start),
		EndTime:     ms(end),
	}
	if parent != 0 {
		s.Parent = trace.NewSpanContext(trace.SpanContextConfig{TraceID: traceID(tr), SpanID: spanID(parent)})
	}
	for _, o := range opts {
		o(&s)
	}
	return s.Snapshot()
}

func remote(s *tracetest.SpanStub) {
	s.Parent = trace.NewSpanContext(trace.SpanContextConfig{TraceID: s.Parent.TraceID(), SpanID: s.Parent.SpanID(), Remote: true})
}

func attrs(kvs ...attribute.KeyValue) func(*tracetest.SpanStub) {
	return func(s *tracetest.SpanStub) { s.Attributes = kvs }
}

func event(name string, at float64, kvs ...attribute.KeyValue) func(*tracetest.SpanStub) {
	return func(s *tracetest.SpanStub) {
		s.Events = append(s.Events, sdktrace.Event{
			Name:       name,
			Time:       t0.Add(time.Duration(at * float64(time.Millisecond))),
			Attributes: kvs,
		})
	}
}

func logEvent(level, msg string, at float64) func(*tracetest.SpanStub) {
	return event("log", at, attribute.String("log.severity", level), attribute.String("log.message", msg))
}

func newTestExporter(opts ...Option) (*SpanExporter, *bytes.Buffer) {
	var buf bytes.Buffer
	e := NewSpanExporter(append([]Option{WithWriter(&buf)}, opts...)...)
	e.idleTimeout = time.Hour // tests flush explicitly
	return e, &buf
}

func export(t *testing.T, e *SpanExporter, spans ...sdktrace.ReadOnlySpan) {
	t.Helper()
	if err := e.ExportSpans(context.Background(), spans); err != nil {
		t.Fatalf("ExportSpans: %v", err)
	}
}

func checkOutput(t *testing.T, buf *bytes.Buffer, want string) {
	t.Helper()
	got := buf.String()
	if want != "" {
		want = strings.TrimPrefix(want, "\n")
	}
	if got != want {
		t.Errorf("output:\n%s\nwant:\n%s", got, want)
	}
	buf.Reset()
}

func TestSpanExporterAssemblesTreeFromManyExports(t *testing.T) {
	e, buf := newTestExporter()
	defer e.Shutdown(context.Background())

	// Trace 1:  root ─┬─ a ─┬─ a1
	//                 │     └─ a2
	//                 └─ b ─── b1
	// arriving leaves first, across three calls, interleaved with trace 2.
	export(t, e,
		span(1, 4, 2, "a2", 25, 35),
		span(2, 2, 1, "other-child", 1, 2),
		span(1, 6, 5, "b1", 60, 70),
	)
	export(t, e, span(1, 3, 2, "a1", 15, 20))
	checkOutput(t, buf, "") // nothing can be printed before a root ends

	// Within one call the root may come before its children.
	export(t, e,
		span(1, 5, 1, "b", 50, 90),
		span(1, 1, 0, "root", 0, 100),
		span(1, 2, 1, "a", 10, 40),
	)
	checkOutput(t, buf, `
trace 00000000000000000000000000000001
root 100ms
├─ a 30ms
│  ├─ a1 5ms
│  └─ a2 10ms
└─ b 40ms
   └─ b1 10ms
`)

	export(t, e, span(2, 1, 0, "other-root", 0, 3))
	checkOutput(t, buf, `
trace 00000000000000000000000000000002
other-root 3ms
└─ other-child 1ms
`)
	if e.nPending != 0 || len(e.pending) != 0 {
		t.Errorf("%d spans in %d traces still pending", e.nPending, len(e.pending))
	}
}

func TestSpanExporterChildrenByStartTime(t *testing.T) {
	e, buf := newTestExporter(WithoutTimings())
	defer e.Shutdown(context.Background())
	export(t, e,
		span(1, 4, 1, "third", 30, 31),
		span(1, 2, 1, "first", 10, 50), // ends last of the three
		span(1, 3, 1, "second", 20, 21),
		span(1, 5, 1, "also-third", 30, 31), // same start: by name
		span(1, 1, 0, "root", 0, 100),
	)
	checkOutput(t, buf, `
trace 00000000000000000000000000000001
root
├─ first
├─ second
├─ also-third
└─ third
`)
}

func TestSpanExporterLateChild(t *testing.T) {
	e, buf := newTestExporter(WithoutTimings())
	defer e.Shutdown(context.Background())
	export(t, e, span(1, 2, 1, "child", 1, 2), span(1, 1, 0, "root", 0, 5))
	checkOutput(t, buf, `
trace 00000000000000000000000000000001
root
└─ child
`)
	// A child that ends after its parent, and its own child before it.
	export(t, e, span(1, 4, 3, "late-grandchild", 7, 8))
	checkOutput(t, buf, "")
	export(t, e, span(1, 3, 1, "late", 6, 9))
	checkOutput(t, buf, `
trace 00000000000000000000000000000001 (parent 0000000000000001 printed earlier)
late
└─ late-grandchild
`)
}

func TestSpanExporterRemoteParent(t *testing.T) {
	e, buf := newTestExporter(WithoutTimings())
	defer e.Shutdown(context.Background())
	export(t, e, span(1, 3, 2, "guest", 1, 2), span(1, 2, 9, "call", 0, 5, remote))
	checkOutput(t, buf, `
trace 00000000000000000000000000000001 (remote parent 0000000000000009)
call
└─ guest
`)
}

func TestSpanExporterPrintsOrphans(t *testing.T) {
	for _, flush := range []string{"ForceFlush", "Shutdown"} {
		t.Run(flush, func(t *testing.T) {
			e, buf := newTestExporter(WithoutTimings())
			defer e.Shutdown(context.Background())
			// Parent 9 of trace 1 never arrives, nor does root 1 of trace 2.
			export(t, e,
				span(1, 3, 2, "orphan-child", 2, 3),
				span(2, 2, 1, "waiting", 1, 2),
				span(1, 2, 9, "orphan", 1, 4),
				span(1, 4, 8, "second-orphan", 5, 6),
			)
			checkOutput(t, buf, "")
			var err error
			if flush == "ForceFlush" {
				err = e.ForceFlush(context.Background())
			} else {
				err = e.Shutdown(context.Background())
			}
			if err != nil {
				t.Fatal(err)
			}
			checkOutput(t, buf, `
trace 00000000000000000000000000000001 (parent 0000000000000009 not seen)
orphan
└─ orphan-child
trace 00000000000000000000000000000001 (parent 0000000000000008 not seen)
second-orphan
trace 00000000000000000000000000000002 (parent 0000000000000001 not seen)
waiting
`)
			if e.nPending != 0 {
				t.Errorf("%d spans still pending", e.nPending)
			}
		})
	}
}

func TestSpanExporterPrintsParentCycles(t *testing.T) {
	e, buf := newTestExporter(WithoutTimings())
	defer e.Shutdown(context.Background())
	// Only hand-made spans can do this; they are printed, not lost or
	// looped over forever.
	export(t, e, span(1, 1, 2, "a", 0, 1), span(1, 2, 1, "b", 1, 2), span(1, 3, 3, "self", 3, 4))
	checkOutput(t, buf, `
trace 00000000000000000000000000000001 (parent 0000000000000003 not seen)
self
`)
	if err := e.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	checkOutput(t, buf, `
trace 00000000000000000000000000000001 (parent 0000000000000002 not seen)
a
└─ b
`)
}

func TestSpanExporterShutdown(t *testing.T) {
	e, buf := newTestExporter(WithoutTimings())
	ctx := context.Background()
	export(t, e, span(1, 2, 1, "child", 1, 2))
	if err := e.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	checkOutput(t, buf, `
trace 00000000000000000000000000000001 (parent 0000000000000001 not seen)
child
`)
	if err := e.ExportSpans(ctx, []sdktrace.ReadOnlySpan{span(1, 1, 0, "root", 0, 3)}); !errors.Is(err, errSpanExporterShutdown) {
		t.Errorf("ExportSpans after Shutdown = %v, want %v", err, errSpanExporterShutdown)
	}
	if err := e.Shutdown(ctx); err != nil {
		t.Errorf("second Shutdown = %v", err)
	}
	if err := e.ForceFlush(ctx); err != nil {
		t.Errorf("ForceFlush after Shutdown = %v", err)
	}
	checkOutput(t, buf, "")
}

func TestSpanExporterHonoursCanceledContext(t *testing.T) {
	e, buf := newTestExporter()
	defer e.Shutdown(context.Background())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := e.ExportSpans(ctx, []sdktrace.ReadOnlySpan{span(1, 1, 0, "root", 0, 3)}); !errors.Is(err, context.Canceled) {
		t.Errorf("ExportSpans = %v, want context.Canceled", err)
	}
	checkOutput(t, buf, "")
}

func TestSpanExporterBufferLimit(t *testing.T) {
	e, buf := newTestExporter(WithoutTimings())
	defer e.Shutdown(context.Background())
	e.maxPending = 2
	export(t, e, span(1, 2, 1, "first", 0, 1), span(2, 2, 1, "second", 0, 1))
	checkOutput(t, buf, "")
	export(t, e, span(3, 2, 1, "third", 0, 1))
	checkOutput(t, buf, `
trace 00000000000000000000000000000001 (parent 0000000000000001 not seen)
first
`)
}

func TestSpanExporterIdleFlush(t *testing.T) {
	e, buf := newTestExporter(WithoutTimings())
	defer e.Shutdown(context.Background())
	now := t0
	e.now = func() time.Time { return now }

	export(t, e, span(1, 2, 1, "plugin-call", 0, 1)) // parent in another provider
	now = now.Add(30 * time.Minute)
	export(t, e, span(2, 2, 1, "recent", 0, 1))
	now = now.Add(31 * time.Minute)
	e.flushIdle()
	checkOutput(t, buf, `
trace 00000000000000000000000000000001 (parent 0000000000000001 not seen)
plugin-call
`)
	if e.nPending != 1 {
		t.Errorf("%d spans pending, want 1", e.nPending)
	}
}

// signalWriter is a writer that reports each write.
type signalWriter struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	wrote chan struct{}
}

func (w *signalWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	defer func() { w.wrote <- struct{}{} }()
	return w.buf.Write(b)
}

func TestSpanExporterIdleTimerFires(t *testing.T) {
	w := &signalWriter{wrote: make(chan struct{}, 1)}
	e := NewSpanExporter(WithWriter(w), WithoutTimings())
	defer e.Shutdown(context.Background())
	e.idleTimeout = time.Millisecond
	export(t, e, span(1, 2, 1, "plugin-call", 0, 1))
	select {
	case <-w.wrote:
	case <-time.After(10 * time.Second):
		t.Fatal("the idle timer did not print the waiting span")
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if want := "trace 00000000000000000000000000000001 (parent 0000000000000001 not seen)\nplugin-call\n"; w.buf.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", w.buf.String(), want)
	}
}

func TestSpanExporterEventsAndStatus(t *testing.T) {
	e, buf := newTestExporter()
	defer e.Shutdown(context.Background())
	export(t, e,
		span(1, 2, 1, "parse", 1, 1.35,
			logEvent("debug", "parsed 3 fields", 1.2),
			func(s *tracetest.SpanStub) {
				s.Status = sdktrace.Status{Code: codes.Error}
				s.DroppedAttributes = 2
			}),
		span(1, 3, 1, "render", 5, 2015,
			attrs(attribute.String("observe.truncated", "true"), attribute.Bool("cached", false)),
			event("memory.grow", 6, attribute.Int("wasm.memory.grow.pages", 1), attribute.Int("wasm.memory.grow.bytes", 65536)),
			func(s *tracetest.SpanStub) {
				s.Status = sdktrace.Status{Code: codes.Error, Description: `template "x" missing`}
				s.DroppedEvents = 4
			}),
		span(1, 1, 0, "handle_request", 0, 2016.2,
			logEvent("info", "start", 0),
			logEvent("warning", "between children", 3),
			event("log", 4, attribute.String("log.message", "no level"), attribute.Bool("observe.truncated", true)),
			logEvent("error", "after the last child", 2016),
			func(s *tracetest.SpanStub) { s.Status = sdktrace.Status{Code: codes.Ok, Description: "ignored"} },
			attrs(attribute.String("extism.function", "handle_request"), attribute.Int("observe.dropped.span_depth", 3)),
		),
	)
	checkOutput(t, buf, `
trace 00000000000000000000000000000001
handle_request 2.02s extism.function=handle_request observe.dropped.span_depth=3
│  info  start
├─ parse 350µs ERROR (2 attributes dropped)
│     debug parsed 3 fields
│  warning between children
│  log   no level observe.truncated=true
└─ render 2.01s ERROR "template \"x\" missing" cached=false observe.truncated=true
      memory.grow wasm.memory.grow.bytes=65536 wasm.memory.grow.pages=1
      (4 events dropped)
   error after the last child
`)
}

func TestSpanExporterEscapesPluginText(t *testing.T) {
	evil := "\x1b[2J\x1b]0;pwned\x07\r\nfake line\u009b31m\x9b\xff\u202e"
	spans := []sdktrace.ReadOnlySpan{
		span(1, 2, 1, evil, 1, 2,
			attrs(attribute.String(evil, evil), attribute.StringSlice("list", []string{evil})),
			logEvent(evil, evil, 1.5),
			event(evil, 1.6, attribute.String("k", evil)),
			func(s *tracetest.SpanStub) { s.Status = sdktrace.Status{Code: codes.Error, Description: evil} }),
		span(1, 1, 0, strings.Repeat("long\x1b", 1000), 0, 3,
			attrs(attribute.String("long", strings.Repeat("x", 10000)))),
	}
	for _, color := range []bool{false, true} {
		t.Run(fmt.Sprintf("color=%v", color), func(t *testing.T) {
			e, buf := newTestExporter(WithColor(color), WithoutTimings())
			defer e.Shutdown(context.Background())
			export(t, e, spans...)
			out := buf.String()
			checkSafe(t, out)
			if !color && strings.Contains(out, "\x1b") {
				t.Errorf("ESC in output without colour: %q", out)
			}
			// Header, two span lines, two event lines: nothing more.
			if n := strings.Count(out, "\n"); n != 5 {
				t.Errorf("%d lines, want 5:\n%s", n, out)
			}
			for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
				if n := len([]rune(line)); n > 2000 {
					t.Errorf("line of %d runes: long text was not cut", n)
				}
			}
		})
	}

	e, buf := newTestExporter(WithoutTimings())
	defer e.Shutdown(context.Background())
	export(t, e, spans...)
	const esc = `\x1b[2J\x1b]0;pwned\x07\r\nfake line\u009b31m��\u202e`
	const quoted = `"\x1b[2J\x1b]0;pwned\x07\r\nfake line\u009b31m��\u202e"`
	want := "trace 00000000000000000000000000000001\n" +
		strings.Repeat(`long\x1b`, 32) + "… long=" + strings.Repeat("x", 256) + "…\n" +
		"└─ " + esc + ` ERROR ` + quoted + " " + quoted + "=" + quoted + " list=[" + quoted + "]\n" +
		"      " + `\x1b[2J\x1b]0;pw…` + " " + esc + "\n" + // levels are cut short
		"      " + esc + " k=" + quoted + "\n"
	if got := buf.String(); got != want {
		t.Errorf("output:\n%s\nwant:\n%s", got, want)
	}
}

func TestSpanExporterColor(t *testing.T) {
	e, buf := newTestExporter(WithColor(true), WithoutTimings())
	defer e.Shutdown(context.Background())
	export(t, e, span(1, 1, 0, "root", 0, 1, attrs(attribute.Int("n", 1)), logEvent("info", "hi", 0.5)))
	want := styleDim + "trace " + styleReset + styleDim + "00000000000000000000000000000001" + styleReset + "\n" +
		styleBold + "root" + styleReset + " " + styleCyan + "n" + styleReset + "=1\n" +
		styleDim + "   " + styleReset + styleGreen + "info" + styleReset + "  hi\n"
	if got := buf.String(); got != want {
		t.Errorf("output:\n%q\nwant:\n%q", got, want)
	}
}

func TestUseColor(t *testing.T) {
	devNull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer devNull.Close()
	file, err := os.Create(t.TempDir() + "/out")
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()

	on, off := true, false
	tests := []struct {
		name    string
		w       any
		forced  *bool
		noColor string
		want    bool
	}{
		{"buffer", &bytes.Buffer{}, nil, "", false},
		{"regular file", file, nil, "", false},
		{"character device", devNull, nil, "", true},
		{"character device with NO_COLOR", devNull, nil, "1", false},
		{"forced on", &bytes.Buffer{}, &on, "1", true},
		{"forced off", devNull, &off, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("NO_COLOR", tt.noColor)
			t.Setenv("TERM", "xterm")
			opts := []Option{WithWriter(tt.w.(interface{ Write([]byte) (int, error) }))}
			if tt.forced != nil {
				opts = append(opts, WithColor(*tt.forced))
			}
			if got := newConfig(opts).useColor(); got != tt.want {
				t.Errorf("useColor() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestSpanExporterConcurrent(t *testing.T) {
	var out testutil.Buffer
	exp := NewSpanExporter(WithWriter(&out))
	// The batcher exports from its own goroutine while the goroutines below
	// make spans and call ForceFlush.
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp, sdktrace.WithMaxExportBatchSize(7)))
	tracer := tp.Tracer("test")

	const goroutines, traces = 8, 50
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range traces {
				ctx, root := tracer.Start(context.Background(), fmt.Sprintf("root-%d-%d", g, i))
				_, child := tracer.Start(ctx, "child")
				child.AddEvent("log", trace.WithAttributes(attribute.String("log.message", "hello")))
				child.End()
				root.End()
				if i%10 == 0 {
					if err := exp.ForceFlush(context.Background()); err != nil {
						t.Error(err)
					}
				}
			}
		})
	}
	wg.Wait()
	if err := tp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	// ForceFlush may split a tree, but every span is printed exactly once.
	got := out.String()
	for _, s := range []string{"root-", "child", "hello"} {
		if n := strings.Count(got, s); n != goroutines*traces {
			t.Errorf("%q printed %d times, want %d", s, n, goroutines*traces)
		}
	}
	for g := range goroutines {
		for i := range traces {
			if n := strings.Count(got, fmt.Sprintf("root-%d-%d ", g, i)); n != 1 {
				t.Errorf("root-%d-%d printed %d times", g, i, n)
			}
		}
	}
}
