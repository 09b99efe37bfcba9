package observe_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	extism "github.com/extism/go-sdk"
	"github.com/rs/zerolog"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/goleak"

	"github.com/extism-observe/observe"
)

// traceChecker is a span processor that checks each trace as soon as its
// root ends and then forgets it, so that a long run holds only the traces
// in flight: the heap then shows what the library holds, not the test.
type traceChecker struct {
	mu      sync.Mutex
	open    map[trace.TraceID][]sdktrace.ReadOnlySpan
	checked atomic.Int64
	bad     atomic.Int64
	first   atomic.Value // string: the first bad trace
	want    []string
}

func (c *traceChecker) OnStart(context.Context, sdktrace.ReadWriteSpan) {}
func (*traceChecker) Shutdown(context.Context) error                    { return nil }
func (*traceChecker) ForceFlush(context.Context) error                  { return nil }

func (c *traceChecker) OnEnd(s sdktrace.ReadOnlySpan) {
	tid := s.SpanContext().TraceID()
	c.mu.Lock()
	spans := append(c.open[tid], s)
	if s.Parent().IsValid() {
		c.open[tid] = spans
		c.mu.Unlock()
		return
	}
	delete(c.open, tid)
	c.mu.Unlock()
	c.checked.Add(1)
	if got := tree(spans); strings.Join(got, "|") != strings.Join(c.want, "|") {
		if c.bad.Add(1) == 1 {
			c.first.Store(fmt.Sprintf("%q", got))
		}
	}
}

// TestSoak runs 64 goroutines, each with its own instance of one
// CompiledPlugin, calling it over and over for a bounded time (5s, or
// OBSERVE_SOAK, e.g. OBSERVE_SOAK=2m): every trace must be exactly right,
// the heap flat after warm-up, and no goroutine left behind.
func TestSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("soak test: skipped under -short")
	}
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	duration := 5 * time.Second
	if v := os.Getenv("OBSERVE_SOAK"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("OBSERVE_SOAK: %v", err)
		}
		duration = d
	}

	checker := &traceChecker{open: map[trace.TraceID][]sdktrace.ReadOnlySpan{}, want: []string{
		"request", "request > run", "request > run > handle_request", "request > run > handle_request > db.query",
	}}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(checker))
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	var logLines atomic.Int64
	logger := zerolog.New(countingWriter{&logLines}).Level(zerolog.TraceLevel)
	obs := observe.New(observe.WithTracerProvider(tp), observe.WithMeterProvider(mp), observe.WithLogger(logger))

	cp, err := extism.NewCompiledPlugin(obs.Context(context.Background()), manifest(t, "cguest.wasm"), extism.PluginConfig{}, obs.HostFunctions())
	if err != nil {
		t.Fatal(err)
	}
	const workers = 64
	var calls atomic.Int64
	run := func(d time.Duration) {
		var wg sync.WaitGroup
		deadline := time.Now().Add(d)
		for range workers {
			p, err := cp.Instance(context.Background(), extism.PluginInstanceConfig{})
			if err != nil {
				t.Fatal(err)
			}
			wg.Go(func() {
				defer p.Close(context.Background())
				for time.Now().Before(deadline) {
					ctx, span := tp.Tracer("soak").Start(context.Background(), "request")
					rc, _, err := p.CallWithContext(ctx, "run", nil)
					span.End()
					if rc != 0 || err != nil {
						t.Errorf("rc=%d err=%v", rc, err)
						return
					}
					calls.Add(1)
				}
			})
		}
		wg.Wait()
	}

	run(duration / 5) // warm-up: pools, caches, instruments
	warm := heapInUse()
	warmCalls := calls.Load()
	run(duration)
	after := heapInUse()

	total := calls.Load()
	t.Logf("%d calls (%d after warm-up) by %d goroutines; heap %d -> %d bytes", total, total-warmCalls, workers, warm, after)
	if bad := checker.bad.Load(); bad > 0 {
		t.Errorf("%d of %d traces wrong; first: %v", bad, checker.checked.Load(), checker.first.Load())
	}
	if got := checker.checked.Load(); got != total {
		t.Errorf("%d traces checked, %d calls made", got, total)
	}
	if n := len(checker.open); n != 0 {
		t.Errorf("%d traces never completed", n)
	}
	if got, want := logLines.Load(), total*5; got != want {
		t.Errorf("%d log lines, want %d", got, want)
	}
	// Flat: the instances of the second run replaced those of the first;
	// allow for the noise of the runtime, not for growth with calls.
	if grew := int64(after) - int64(warm); grew > 4*mib {
		t.Errorf("heap grew by %d bytes over %d calls", grew, total-warmCalls)
	}

	if err := cp.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := tp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := mp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}

type countingWriter struct{ n *atomic.Int64 }

func (w countingWriter) Write(p []byte) (int, error) {
	w.n.Add(int64(strings.Count(string(p), "\n")))
	return io.Discard.Write(p)
}
