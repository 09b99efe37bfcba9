package batch_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/extism-observe/observe/exporters/batch"

	"github.com/extism-observe/observe/internal/testutil"
)

// gateExporter is a SpanExporter that can be held inside ExportSpans, so
// that tests fill the queue deterministically. It keeps what it exported,
// batch by batch.
type gateExporter struct {
	entered chan int // the size of each batch given, as ExportSpans starts

	mu        sync.Mutex
	gate      chan struct{} // not nil: ExportSpans waits for it to be closed, or for its ctx
	err       error         // returned by every export
	batches   [][]string    // span names of the batches exported without error
	shutdowns int
}

func newGateExporter() *gateExporter {
	return &gateExporter{entered: make(chan int, 1<<16)}
}

// hold makes the exports from now on wait, until release. It forgets the
// exports that have started so far, which tests call it after.
func (e *gateExporter) hold() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.gate = make(chan struct{})
	for len(e.entered) > 0 {
		<-e.entered
	}
}

func (e *gateExporter) release() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.gate != nil {
		close(e.gate)
		e.gate = nil
	}
}

func (e *gateExporter) failWith(err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.err = err
}

func (e *gateExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	e.entered <- len(spans)
	e.mu.Lock()
	gate, err := e.gate, e.err
	e.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if err != nil {
		return err
	}
	names := make([]string, len(spans))
	for i, s := range spans {
		names[i] = s.Name()
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.batches = append(e.batches, names)
	return nil
}

func (e *gateExporter) Shutdown(context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.shutdowns++
	return nil
}

// names returns the names of all spans exported, in order.
func (e *gateExporter) names() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var all []string
	for _, b := range e.batches {
		all = append(all, b...)
	}
	return all
}

func (e *gateExporter) batchSizes() []int {
	e.mu.Lock()
	defer e.mu.Unlock()
	sizes := make([]int, len(e.batches))
	for i, b := range e.batches {
		sizes[i] = len(b)
	}
	return sizes
}

// waitEntered waits for the goroutine to call ExportSpans, and returns the
// size of the batch it gave.
func (e *gateExporter) waitEntered(t *testing.T) int {
	t.Helper()
	select {
	case n := <-e.entered:
		return n
	case <-time.After(10 * time.Second):
		t.Fatal("the processor never called ExportSpans")
		return 0
	}
}

// fakeClock is the clock of the warnings, moved by hand.
type fakeClock struct{ ns atomic.Int64 }

func newFakeClock() *fakeClock {
	c := new(fakeClock)
	c.ns.Store(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	return c
}

func (c *fakeClock) now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) advance(d time.Duration) { c.ns.Add(int64(d)) }

// harness is a real TracerProvider with the processor under test, a
// gateExporter, a ManualReader for the processor's metrics, a JSON log
// buffer and a fake clock.
type harness struct {
	t      *testing.T
	exp    *gateExporter
	p      *batch.SpanProcessor
	tp     *sdktrace.TracerProvider
	tracer trace.Tracer
	reader *sdkmetric.ManualReader
	logs   *testutil.Buffer
	clock  *fakeClock
	ended  int
}

func newHarness(t *testing.T, opts ...batch.Option) *harness {
	t.Helper()
	h := &harness{
		t:      t,
		exp:    newGateExporter(),
		reader: sdkmetric.NewManualReader(),
		logs:   new(testutil.Buffer),
		clock:  newFakeClock(),
	}
	base := []batch.Option{
		batch.WithBatchTimeout(time.Hour), // batches leave when full or flushed, never by the clock
		batch.WithMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(h.reader))),
		batch.WithLogger(zerolog.New(h.logs)),
		batch.WithWarnInterval(time.Hour),
		batch.WithClock(h.clock.now),
	}
	h.p = batch.NewSpanProcessor(h.exp, append(base, opts...)...)
	h.tp = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(h.p))
	h.tracer = h.tp.Tracer("test")
	t.Cleanup(func() {
		h.exp.release()
		if err := h.tp.Shutdown(context.Background()); err != nil {
			t.Errorf("TracerProvider.Shutdown: %v", err)
		}
	})
	return h
}

// end starts and ends n spans, named span-0, span-1... in the order of all
// the spans this harness has ended.
func (h *harness) end(n int) {
	for range n {
		_, s := h.tracer.Start(context.Background(), fmt.Sprintf("span-%d", h.ended))
		s.End()
		h.ended++
	}
}

func (h *harness) flush() {
	h.t.Helper()
	if err := h.p.ForceFlush(context.Background()); err != nil {
		h.t.Fatalf("ForceFlush: %v", err)
	}
}

// counter returns the value of the int64 counter name with attribute
// reason=reason (any attributes when reason is ""), and whether it was
// reported.
func (h *harness) counter(name, reason string) (int64, bool) {
	h.t.Helper()
	var rm metricdata.ResourceMetrics
	if err := h.reader.Collect(context.Background(), &rm); err != nil {
		h.t.Fatalf("Collect: %v", err)
	}
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name != batch.ScopeName {
			h.t.Errorf("scope %q, want %q", sm.Scope.Name, batch.ScopeName)
		}
		for _, m := range sm.Metrics {
			if m.Name != name {
				continue
			}
			sum, ok := m.Data.(metricdata.Sum[int64])
			if !ok || !sum.IsMonotonic {
				h.t.Fatalf("%s is %T, want a monotonic Sum[int64]", name, m.Data)
			}
			if want := map[string]string{
				"observe.exporter.spans.dropped":  "{span}",
				"observe.exporter.spans.exported": "{span}",
				"observe.exporter.errors":         "{error}",
			}[name]; m.Unit != want {
				h.t.Errorf("%s unit %q, want %q", name, m.Unit, want)
			}
			var v int64
			found := false
			for _, dp := range sum.DataPoints {
				if reason != "" {
					if r, _ := dp.Attributes.Value(attribute.Key("reason")); r.AsString() != reason {
						continue
					}
				}
				v += dp.Value
				found = true
			}
			return v, found
		}
	}
	return 0, false
}

func spanNames(from, to int) []string {
	var names []string
	for i := from; i < to; i++ {
		names = append(names, fmt.Sprintf("span-%d", i))
	}
	return names
}

func equal[T comparable](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestBatches(t *testing.T) {
	h := newHarness(t, batch.WithBatchSize(3), batch.WithQueueSize(10))
	h.end(7)
	h.flush()
	if got, want := h.exp.batchSizes(), []int{3, 3, 1}; !equal(got, want) {
		t.Errorf("batch sizes %v, want %v", got, want)
	}
	if got, want := h.exp.names(), spanNames(0, 7); !equal(got, want) {
		t.Errorf("spans %v, want %v", got, want)
	}
	if n, _ := h.counter("observe.exporter.spans.exported", ""); n != 7 {
		t.Errorf("observe.exporter.spans.exported = %d, want 7", n)
	}
}

func TestForceFlushDeliversAll(t *testing.T) {
	h := newHarness(t) // the defaults: queue 2048, batches of 512
	h.end(1000)
	h.flush()
	if got, want := h.exp.names(), spanNames(0, 1000); !equal(got, want) {
		t.Fatalf("exported %d spans, want the 1000 in order", len(got))
	}
	for _, n := range h.exp.batchSizes() {
		if n > batch.DefaultBatchSize {
			t.Errorf("batch of %d spans, more than %d", n, batch.DefaultBatchSize)
		}
	}
	if h.p.Dropped() != 0 || len(h.logs.Lines(t)) != 0 {
		t.Errorf("Dropped() = %d, logs %v; want none", h.p.Dropped(), h.logs.Lines(t))
	}
}

func TestForceFlushHonoursContext(t *testing.T) {
	t.Run("done before", func(t *testing.T) {
		h := newHarness(t)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := h.p.ForceFlush(ctx); !errors.Is(err, context.Canceled) {
			t.Errorf("ForceFlush = %v, want context.Canceled", err)
		}
	})
	t.Run("done during the export", func(t *testing.T) {
		h := newHarness(t)
		h.exp.hold()
		h.end(1)
		ctx, cancel := context.WithCancel(context.Background())
		result := make(chan error, 1)
		go func() { result <- h.p.ForceFlush(ctx) }()
		h.exp.waitEntered(t)
		cancel()
		if err := <-result; !errors.Is(err, context.Canceled) {
			t.Errorf("ForceFlush = %v, want context.Canceled", err)
		}
	})
}

func TestBatchTimeout(t *testing.T) {
	h := newHarness(t, batch.WithBatchTimeout(time.Millisecond))
	h.end(1)
	if n := h.exp.waitEntered(t); n != 1 {
		t.Errorf("timer exported a batch of %d spans, want 1", n)
	}
}

// fill holds the exporter inside the export of the first batch, so that
// the goroutine holds exactly batchSize spans, then fills the queue and
// ends drops more spans, all of which must be dropped.
func (h *harness) fill(batchSize, queueSize, drops int) {
	h.t.Helper()
	h.exp.hold()
	h.end(batchSize)
	if n := h.exp.waitEntered(h.t); n != batchSize {
		h.t.Fatalf("first batch of %d spans, want %d", n, batchSize)
	}
	h.end(queueSize + drops)
}

func TestQueueFull(t *testing.T) {
	const batchSize, queueSize, drops = 4, 8, 5
	h := newHarness(t, batch.WithBatchSize(batchSize), batch.WithQueueSize(queueSize))
	h.fill(batchSize, queueSize, drops)

	// Counted as the spans end, while the exporter is still held.
	if got := h.p.Dropped(); got != drops {
		t.Errorf("Dropped() = %d, want %d", got, drops)
	}
	if n, _ := h.counter("observe.exporter.spans.dropped", "queue_full"); n != drops {
		t.Errorf("observe.exporter.spans.dropped{reason=queue_full} = %d, want %d", n, drops)
	}

	h.exp.release()
	h.flush()
	kept := batchSize + queueSize
	if got, want := h.exp.names(), spanNames(0, kept); !equal(got, want) {
		t.Errorf("exported %v, want %v: the first spans, not the dropped ones", got, want)
	}
	if n, _ := h.counter("observe.exporter.spans.exported", ""); n != int64(kept) {
		t.Errorf("observe.exporter.spans.exported = %d, want %d", n, kept)
	}
	if n, _ := h.counter("observe.exporter.errors", ""); n != 0 {
		t.Errorf("observe.exporter.errors = %d, want 0", n)
	}

	lines := h.logs.Lines(t)
	if len(lines) != 1 {
		t.Fatalf("%d log lines, want 1: %v", len(lines), lines)
	}
	l := lines[0]
	if l["level"] != "warn" || l["dropped"] != float64(drops) || l["dropped_total"] != float64(drops) || l["queue_size"] != float64(queueSize) {
		t.Errorf("warning %v, want level warn, dropped %d, dropped_total %d, queue_size %d", l, drops, drops, queueSize)
	}
	msg, _ := l["message"].(string)
	for _, fix := range []string{"WithQueueSize", "OTEL_BSP_MAX_QUEUE_SIZE", "observe.WithMinDuration", "observe.Limits", "WithBlocking"} {
		if !strings.Contains(msg, fix) {
			t.Errorf("warning %q does not name the fix %s", msg, fix)
		}
	}
}

func TestDropWarningRateLimited(t *testing.T) {
	const batchSize, queueSize = 2, 4
	h := newHarness(t, batch.WithBatchSize(batchSize), batch.WithQueueSize(queueSize))
	drops := func(n int) { // a queue overflow that drops n spans
		h.fill(batchSize, queueSize, n)
		h.exp.release()
		h.flush()
	}
	count := func(want int) []map[string]any {
		t.Helper()
		lines := h.logs.Lines(t)
		if len(lines) != want {
			t.Fatalf("%d log lines, want %d: %v", len(lines), want, lines)
		}
		return lines
	}

	drops(3)
	count(1)
	drops(2) // within the interval: counted, not logged
	count(1)
	if got := h.p.Dropped(); got != 5 {
		t.Errorf("Dropped() = %d, want 5", got)
	}

	h.clock.advance(time.Hour)
	h.flush() // the goroutine looks at the clock after its work
	l := count(2)[1]
	if l["dropped"] != float64(2) || l["dropped_total"] != float64(5) {
		t.Errorf("second warning %v, want dropped 2 (since the first), dropped_total 5", l)
	}

	drops(4) // within the new interval: logged by Shutdown, not lost
	count(2)
	if err := h.p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	l = count(3)[2]
	if l["dropped"] != float64(4) || l["dropped_total"] != float64(9) {
		t.Errorf("warning at Shutdown %v, want dropped 4, dropped_total 9", l)
	}
}

func TestBlocking(t *testing.T) {
	const batchSize, queueSize, total = 2, 4, 100
	h := newHarness(t, batch.WithBlocking(), batch.WithBatchSize(batchSize), batch.WithQueueSize(queueSize))
	h.exp.hold()
	var ended atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range total {
			_, s := h.tracer.Start(context.Background(), fmt.Sprintf("span-%d", i))
			s.End()
			ended.Add(1)
		}
	}()
	// One batch in the exporter, a full queue, and the next span waits:
	// without WithBlocking it would be dropped, and all 100 would end.
	waitFor(t, func() bool { return ended.Load() == batchSize+queueSize && batch.Waiting(h.p) == 1 })
	h.exp.release()
	<-done
	h.flush()
	if got, want := h.exp.names(), spanNames(0, total); !equal(got, want) {
		t.Errorf("exported %d spans, want all %d in order", len(got), total)
	}
	if h.p.Dropped() != 0 || len(h.logs.Lines(t)) != 0 {
		t.Errorf("Dropped() = %d, logs %v; want none", h.p.Dropped(), h.logs.Lines(t))
	}
}

func TestBlockingShutdown(t *testing.T) {
	const batchSize, queueSize = 2, 2
	h := newHarness(t, batch.WithBlocking(), batch.WithBatchSize(batchSize), batch.WithQueueSize(queueSize))
	h.exp.hold()
	h.end(batchSize)
	h.exp.waitEntered(t)
	h.end(queueSize)
	blocked := make(chan struct{})
	go func() {
		defer close(blocked)
		h.end(1)
	}()
	waitFor(t, func() bool { return batch.Waiting(h.p) == 1 })

	shutdown := make(chan error, 1)
	go func() { shutdown <- h.p.Shutdown(context.Background()) }()
	<-blocked // Shutdown lets the waiting span go, dropped
	if got := h.p.Dropped(); got != 1 {
		t.Errorf("Dropped() = %d, want 1", got)
	}
	if n, _ := h.counter("observe.exporter.spans.dropped", "shutdown"); n != 1 {
		t.Errorf("observe.exporter.spans.dropped{reason=shutdown} = %d, want 1", n)
	}
	h.exp.release()
	if err := <-shutdown; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if got, want := h.exp.names(), spanNames(0, batchSize+queueSize); !equal(got, want) {
		t.Errorf("exported %v, want %v", got, want)
	}
	lines := h.logs.Lines(t)
	if len(lines) != 1 || lines[0]["dropped"] != float64(1) || !strings.Contains(lines[0]["message"].(string), "shutdown") {
		t.Errorf("logs %v, want one warning of 1 span dropped at shutdown", lines)
	}
}

func TestShutdown(t *testing.T) {
	h := newHarness(t)
	h.end(5)
	if err := h.tp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got, want := h.exp.names(), spanNames(0, 5); !equal(got, want) {
		t.Errorf("exported %v, want %v", got, want)
	}
	// Again, directly: nothing more happens.
	if err := h.p.Shutdown(context.Background()); err != nil {
		t.Errorf("second Shutdown = %v, want nil", err)
	}
	if h.exp.shutdowns != 1 {
		t.Errorf("exporter shut down %d times, want 1", h.exp.shutdowns)
	}
	// Spans that end afterwards are ignored, not counted as dropped.
	h.p.OnEnd(sampledSpan("late"))
	if err := h.p.ForceFlush(context.Background()); err != nil {
		t.Errorf("ForceFlush after Shutdown = %v, want nil", err)
	}
	if len(h.exp.names()) != 5 || h.p.Dropped() != 0 || len(h.logs.Lines(t)) != 0 {
		t.Errorf("after Shutdown: exported %d, Dropped() %d, logs %v; want 5, 0, none",
			len(h.exp.names()), h.p.Dropped(), h.logs.Lines(t))
	}
}

func TestShutdownContextEnds(t *testing.T) {
	t.Run("queued spans dropped", func(t *testing.T) {
		const batchSize, queued = 4, 6
		h := newHarness(t, batch.WithBatchSize(batchSize), batch.WithQueueSize(8))
		h.exp.hold()
		h.end(batchSize)
		h.exp.waitEntered(t)
		h.end(queued)

		ctx, cancel := context.WithCancel(context.Background())
		result := make(chan error, 1)
		go func() { result <- h.p.Shutdown(ctx) }()
		cancel()
		if err := <-result; !errors.Is(err, context.Canceled) {
			t.Errorf("Shutdown = %v, want context.Canceled", err)
		}
		h.exp.release() // the batch being exported still goes
		if err := h.p.Shutdown(context.Background()); err != nil {
			t.Errorf("second Shutdown = %v, want nil once the first is done", err)
		}
		if got := h.p.Dropped(); got != queued {
			t.Errorf("Dropped() = %d, want %d", got, queued)
		}
		if n, _ := h.counter("observe.exporter.spans.dropped", "shutdown"); n != queued {
			t.Errorf("observe.exporter.spans.dropped{reason=shutdown} = %d, want %d", n, queued)
		}
		if got, want := h.exp.names(), spanNames(0, batchSize); !equal(got, want) {
			t.Errorf("exported %v, want %v", got, want)
		}
		lines := h.logs.Lines(t)
		if len(lines) != 1 || lines[0]["dropped"] != float64(queued) {
			t.Errorf("logs %v, want one warning of %d spans dropped at shutdown", lines, queued)
		}
	})
	t.Run("export cancelled", func(t *testing.T) {
		h := newHarness(t)
		h.exp.hold()
		h.end(3)
		ctx, cancel := context.WithCancel(context.Background())
		result := make(chan error, 1)
		go func() { result <- h.p.Shutdown(ctx) }()
		h.exp.waitEntered(t)
		cancel()
		if err := <-result; !errors.Is(err, context.Canceled) {
			t.Errorf("Shutdown = %v, want context.Canceled", err)
		}
		_ = h.p.Shutdown(context.Background()) // wait for the goroutine
		if n, _ := h.counter("observe.exporter.errors", ""); n != 1 {
			t.Errorf("observe.exporter.errors = %d, want 1", n)
		}
		lines := h.logs.Lines(t)
		if len(lines) != 1 || lines[0]["level"] != "error" || lines[0]["spans_lost"] != float64(3) {
			t.Errorf("logs %v, want one error of 3 spans lost", lines)
		}
		if h.exp.shutdowns != 1 {
			t.Errorf("exporter shut down %d times, want 1", h.exp.shutdowns)
		}
	})
}

func TestExportErrors(t *testing.T) {
	h := newHarness(t)
	errUnreachable := errors.New("collector unreachable")
	h.exp.failWith(errUnreachable)

	h.end(2)
	if err := h.p.ForceFlush(context.Background()); !errors.Is(err, errUnreachable) {
		t.Errorf("ForceFlush = %v, want the export error", err)
	}
	h.end(1)
	if err := h.p.ForceFlush(context.Background()); !errors.Is(err, errUnreachable) {
		t.Errorf("ForceFlush = %v, want the export error", err)
	}
	if n, _ := h.counter("observe.exporter.errors", ""); n != 2 {
		t.Errorf("observe.exporter.errors = %d, want 2", n)
	}
	if h.p.Dropped() != 0 {
		t.Errorf("Dropped() = %d, want 0: failed exports are not drops", h.p.Dropped())
	}
	lines := h.logs.Lines(t)
	if len(lines) != 1 {
		t.Fatalf("%d log lines, want 1 within the interval: %v", len(lines), lines)
	}
	want := map[string]any{"level": "error", "error": "collector unreachable", "failed_exports": float64(1), "spans_lost": float64(2)}
	for k, v := range want {
		if lines[0][k] != v {
			t.Errorf("error line %s = %v, want %v", k, lines[0][k], v)
		}
	}

	h.clock.advance(time.Hour)
	h.flush()
	lines = h.logs.Lines(t)
	if len(lines) != 2 || lines[1]["failed_exports"] != float64(1) || lines[1]["spans_lost"] != float64(1) {
		t.Errorf("logs %v, want a second error line of 1 failed export, 1 span lost", lines)
	}
}

func TestEnvironment(t *testing.T) {
	t.Run("OTEL_BSP_MAX_QUEUE_SIZE", func(t *testing.T) {
		t.Setenv("OTEL_BSP_MAX_QUEUE_SIZE", "3") // and batches of 3, no more than the queue
		h := newHarness(t)
		h.fill(3, 3, 2)
		if got := h.p.Dropped(); got != 2 {
			t.Errorf("Dropped() = %d, want 2", got)
		}
		h.exp.release()
		h.flush()
		if lines := h.logs.Lines(t); len(lines) != 1 || lines[0]["queue_size"] != float64(3) {
			t.Errorf("logs %v, want one warning with queue_size 3", lines)
		}
	})
	t.Run("WithQueueSize wins", func(t *testing.T) {
		t.Setenv("OTEL_BSP_MAX_QUEUE_SIZE", "3")
		h := newHarness(t, batch.WithQueueSize(5), batch.WithBatchSize(2))
		h.fill(2, 5, 1)
		if got := h.p.Dropped(); got != 1 {
			t.Errorf("Dropped() = %d, want 1", got)
		}
	})
	t.Run("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", func(t *testing.T) {
		t.Setenv("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "2")
		h := newHarness(t)
		h.end(5)
		h.flush()
		if got, want := h.exp.batchSizes(), []int{2, 2, 1}; !equal(got, want) {
			t.Errorf("batch sizes %v, want %v", got, want)
		}
	})
	t.Run("OTEL_BSP_SCHEDULE_DELAY", func(t *testing.T) {
		t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "1")
		exp := newGateExporter()
		p := batch.NewSpanProcessor(exp, batch.WithLogger(zerolog.Nop()))
		t.Cleanup(func() { _ = p.Shutdown(context.Background()) })
		p.OnEnd(sampledSpan("one"))
		if n := exp.waitEntered(t); n != 1 {
			t.Errorf("timer exported a batch of %d spans, want 1", n)
		}
	})
	t.Run("invalid", func(t *testing.T) {
		t.Setenv("OTEL_BSP_MAX_QUEUE_SIZE", "lots")
		logs := new(testutil.Buffer)
		p := batch.NewSpanProcessor(newGateExporter(), batch.WithLogger(zerolog.New(logs)))
		t.Cleanup(func() { _ = p.Shutdown(context.Background()) })
		lines := logs.Lines(t)
		if len(lines) != 1 || lines[0]["variable"] != "OTEL_BSP_MAX_QUEUE_SIZE=lots" {
			t.Errorf("logs %v, want one warning naming OTEL_BSP_MAX_QUEUE_SIZE=lots", lines)
		}
	})
}

// recordOnly records every span without sampling it.
type recordOnly struct{}

func (recordOnly) ShouldSample(p sdktrace.SamplingParameters) sdktrace.SamplingResult {
	return sdktrace.SamplingResult{Decision: sdktrace.RecordOnly, Tracestate: trace.SpanContextFromContext(p.ParentContext).TraceState()}
}
func (recordOnly) Description() string { return "RecordOnly" }

func TestSampledOnly(t *testing.T) {
	exp := newGateExporter()
	p := batch.NewSpanProcessor(exp, batch.WithLogger(zerolog.Nop()))
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(recordOnly{}), sdktrace.WithSpanProcessor(p))
	_, s := tp.Tracer("test").Start(context.Background(), "recorded, not sampled")
	if !s.IsRecording() {
		t.Fatal("span not recording: the test does not reach OnEnd")
	}
	s.End()
	if err := tp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := exp.names(); len(got) != 0 || p.Dropped() != 0 {
		t.Errorf("exported %v, Dropped() %d; want nothing", got, p.Dropped())
	}
}

func TestNilExporter(t *testing.T) {
	p := batch.NewSpanProcessor(nil)
	p.OnEnd(sampledSpan("ignored"))
	if err := p.ForceFlush(context.Background()); err != nil {
		t.Errorf("ForceFlush = %v", err)
	}
	for range 2 {
		if err := p.Shutdown(context.Background()); err != nil {
			t.Errorf("Shutdown = %v", err)
		}
	}
	if p.Dropped() != 0 {
		t.Errorf("Dropped() = %d", p.Dropped())
	}
}

// TestConcurrent ends spans from many goroutines, with flushes among them,
// through a queue too small to hold them: every span is exported or
// counted as dropped, none is lost silently.
func TestConcurrent(t *testing.T) {
	for _, blocking := range []bool{false, true} {
		t.Run(fmt.Sprintf("blocking=%v", blocking), func(t *testing.T) {
			const goroutines, each = 8, 500
			opts := []batch.Option{batch.WithQueueSize(16), batch.WithBatchSize(4)}
			if blocking {
				opts = append(opts, batch.WithBlocking())
			}
			h := newHarness(t, opts...)
			var wg sync.WaitGroup
			for g := range goroutines {
				wg.Go(func() {
					for i := range each {
						_, s := h.tracer.Start(context.Background(), "s")
						s.End()
						if i%100 == 0 && g%2 == 0 {
							if err := h.p.ForceFlush(context.Background()); err != nil {
								t.Errorf("ForceFlush: %v", err)
							}
						}
					}
				})
			}
			wg.Wait()
			if err := h.tp.Shutdown(context.Background()); err != nil {
				t.Fatal(err)
			}
			exported := uint64(len(h.exp.names()))
			if exported+h.p.Dropped() != goroutines*each {
				t.Errorf("exported %d + dropped %d != %d ended", exported, h.p.Dropped(), goroutines*each)
			}
			if blocking && h.p.Dropped() != 0 {
				t.Errorf("Dropped() = %d with WithBlocking, want 0", h.p.Dropped())
			}
			if n, _ := h.counter("observe.exporter.spans.dropped", ""); uint64(n) != h.p.Dropped() {
				t.Errorf("observe.exporter.spans.dropped = %d, Dropped() = %d", n, h.p.Dropped())
			}
		})
	}
}

// sampledSpan returns an ended, sampled span, for calling OnEnd directly.
func sampledSpan(name string) sdktrace.ReadOnlySpan {
	return tracetest.SpanStub{
		Name: name,
		SpanContext: trace.NewSpanContext(trace.SpanContextConfig{
			TraceID:    trace.TraceID{1},
			SpanID:     trace.SpanID{1},
			TraceFlags: trace.FlagsSampled,
		}),
	}.Snapshot()
}

// waitFor waits until cond holds, which another goroutine makes true
// without telling: it yields rather than sleeps.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition never held")
		}
		runtime.Gosched()
	}
}
