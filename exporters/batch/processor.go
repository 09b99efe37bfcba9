package batch

import (
	"context"
	"errors"
	"math"
	"sync"
	"time"

	zlog "github.com/rs/zerolog/log"
	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// SpanProcessor batches ended, sampled spans to a SpanExporter, as the
// OpenTelemetry SDK's BatchSpanProcessor does, and says so when it loses
// some. Register it with sdktrace.WithSpanProcessor.
//
// A span that ends when the queue is full is dropped, without waiting
// (unless [WithBlocking] is given), and counted: in [SpanProcessor.Dropped],
// in the observe.exporter.spans.dropped metric, and in a warning logged at
// most once per [WithWarnInterval]. Failed exports are counted in the
// observe.exporter.errors metric and logged the same way. Spans that end
// after [SpanProcessor.Shutdown] are ignored, and not counted: the provider
// is closed, which is no loss to report.
//
// One goroutine, started by [NewSpanProcessor] and ended by Shutdown,
// exports the batches and writes the warnings, so that neither the exporter
// nor the logger ever runs on the goroutine that ends a span. The methods
// of a SpanProcessor are safe for concurrent use.
type SpanProcessor struct {
	exporter sdktrace.SpanExporter
	cfg      config
	counts   counts

	// The queue: a ring of cfg.queueSize slots, n of them in use from head.
	mu      sync.Mutex
	notFull sync.Cond // with mu: spans left a full queue, or Shutdown began
	ring    []sdktrace.ReadOnlySpan
	head    int
	n       int
	waiting int  // OnEnd calls waiting for room (WithBlocking)
	stopped bool // Shutdown has begun: OnEnd ignores spans

	wake     chan struct{} // a full batch is queued; capacity 1
	flushes  chan flushRequest
	stop     chan struct{}   // closed by the first Shutdown
	stopCtx  context.Context // the first Shutdown's ctx, set before stop is closed
	stopErr  error           // the result of the drain, set before done is closed
	stopOnce sync.Once
	done     chan struct{} // closed when the goroutine has finished

	// Owned by the goroutine.
	batch []sdktrace.ReadOnlySpan
	warn  warnings
}

var _ sdktrace.SpanProcessor = (*SpanProcessor)(nil)

type flushRequest struct {
	ctx    context.Context
	result chan error // capacity 1
}

// NewSpanProcessor returns a SpanProcessor that exports to exporter, and
// starts its goroutine. Options not given take their value from the
// OTEL_BSP_* environment variables, as in the OpenTelemetry SDK, else from
// the same defaults; a variable that is set but invalid is ignored, with a
// warning. A nil exporter gives a processor that does nothing.
func NewSpanProcessor(exporter sdktrace.SpanExporter, opts ...Option) *SpanProcessor {
	cfg := newConfig(opts)
	p := &SpanProcessor{
		exporter: exporter,
		cfg:      cfg,
		done:     make(chan struct{}),
	}
	if exporter == nil {
		p.stopped = true
		close(p.done)
		return p
	}
	logger := zlog.Logger
	if cfg.logger != nil {
		logger = *cfg.logger
	}
	for _, v := range cfg.badEnv {
		logger.Warn().Str("variable", v).Msg("observe/batch: ignoring an environment variable that is not a positive integer; using the default")
	}
	mp := cfg.meterProvider
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	if err := p.counts.registerMetrics(mp); err != nil {
		logger.Error().Err(err).Msg("observe/batch: cannot make the processor's metrics; drops are still logged")
	}
	p.notFull.L = &p.mu
	p.ring = make([]sdktrace.ReadOnlySpan, cfg.queueSize)
	p.batch = make([]sdktrace.ReadOnlySpan, 0, cfg.batchSize)
	p.wake = make(chan struct{}, 1)
	p.flushes = make(chan flushRequest)
	p.stop = make(chan struct{})
	p.warn = warnings{logger: logger, interval: cfg.warnInterval, now: cfg.now, queueSize: cfg.queueSize}
	go p.run()
	return p
}

// OnStart does nothing.
func (*SpanProcessor) OnStart(context.Context, sdktrace.ReadWriteSpan) {}

// OnEnd queues s for export if it is sampled. When the queue is full, s is
// dropped and counted, or, with [WithBlocking], OnEnd waits for room.
func (p *SpanProcessor) OnEnd(s sdktrace.ReadOnlySpan) {
	if p.exporter == nil || !s.SpanContext().IsSampled() {
		return
	}
	p.mu.Lock()
	for p.n == len(p.ring) && p.cfg.blocking && !p.stopped {
		p.waiting++
		p.notFull.Wait()
		p.waiting--
	}
	if p.stopped {
		// A span that waited here has been counted by Shutdown.
		p.mu.Unlock()
		return
	}
	if p.n == len(p.ring) {
		p.mu.Unlock()
		p.drop(dropQueueFull, 1)
		return
	}
	tail := p.head + p.n
	if tail >= len(p.ring) {
		tail -= len(p.ring)
	}
	p.ring[tail] = s
	p.n++
	full := p.n == p.cfg.batchSize
	p.mu.Unlock()
	if full {
		p.signal()
	}
}

// signal wakes the goroutine to export a full batch, unless it is already
// due to wake.
func (p *SpanProcessor) signal() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// drop counts k spans dropped for reason.
func (p *SpanProcessor) drop(reason dropReason, k int) {
	if k <= 0 {
		return
	}
	p.counts.dropped[reason].Add(uint64(k))
}

// Dropped returns the number of ended, sampled spans that were never given
// to the exporter: those that found the queue full, and those that
// Shutdown could not export in time (see [SpanProcessor.Shutdown]). Spans
// given to an exporter that failed are counted in the observe.exporter.errors
// metric instead.
func (p *SpanProcessor) Dropped() uint64 {
	var n uint64
	for i := range p.counts.dropped {
		n += p.counts.dropped[i].Load()
	}
	return n
}

// ForceFlush exports the spans queued when it is called, and returns once
// they are exported, or when ctx is done, with ctx's error. It returns the
// first export error, if any; the other spans are exported all the same.
// After Shutdown it does nothing.
func (p *SpanProcessor) ForceFlush(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	p.mu.Lock()
	stopped := p.stopped
	p.mu.Unlock()
	if stopped {
		return nil
	}
	req := flushRequest{ctx: ctx, result: make(chan error, 1)}
	select {
	case p.flushes <- req:
	case <-p.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-req.result:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Shutdown stops taking spans, exports those queued, shuts the exporter
// down, and returns once that is done, or when ctx is done, with ctx's
// error. The exports and the exporter's Shutdown are given ctx: spans still
// queued when it is done are dropped and counted (reason shutdown), and so
// are spans waiting for room with [WithBlocking]. Losses not yet logged
// because of [WithWarnInterval] are logged then.
//
// Shutdown returns the first export error and the exporter's Shutdown
// error. Calling it again does nothing but wait, within ctx, for the first
// call to finish, and returns nil.
func (p *SpanProcessor) Shutdown(ctx context.Context) error {
	first := false
	p.stopOnce.Do(func() {
		first = true
		p.mu.Lock()
		if p.stopped { // nil exporter
			p.mu.Unlock()
			return
		}
		p.stopped = true
		p.drop(dropShutdown, p.waiting)
		p.notFull.Broadcast()
		p.mu.Unlock()
		p.stopCtx = ctx
		close(p.stop)
	})
	select {
	case <-p.done:
		if first {
			return p.stopErr
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// run is the processor's goroutine.
func (p *SpanProcessor) run() {
	defer close(p.done)
	timer := time.NewTimer(p.cfg.batchTimeout)
	defer timer.Stop()
	for {
		// Once Shutdown has begun, its drain comes before any other work,
		// so that every export from then on is bounded by its ctx.
		select {
		case <-p.stop:
			p.stopErr = p.drain(p.stopCtx)
			p.report(true)
			return
		default:
		}
		select {
		case <-p.stop:
			continue
		case <-p.wake:
			p.exportFull()
		case <-timer.C:
			_ = p.exportQueued(context.Background()) // counted and logged
			timer.Reset(p.cfg.batchTimeout)
		case req := <-p.flushes:
			err := p.exportQueued(req.ctx)
			p.report(false) // before the reply, so that the caller sees what is due
			req.result <- err
			continue
		}
		p.report(false)
	}
}

// exportFull exports one full batch, if one is queued. It exports only one
// so that flushes, Shutdown and the timer get their turn under a steady
// load; it wakes itself again if another full batch is queued.
func (p *SpanProcessor) exportFull() {
	p.mu.Lock()
	if p.n < p.cfg.batchSize {
		p.mu.Unlock()
		return
	}
	p.take(p.cfg.batchSize)
	more := p.n >= p.cfg.batchSize
	p.mu.Unlock()
	if more {
		p.signal()
	}
	_ = p.export(context.Background()) // counted and logged
}

// exportQueued exports the spans queued now, in batches, unless ctx ends
// first. It returns the first export error.
func (p *SpanProcessor) exportQueued(ctx context.Context) error {
	p.mu.Lock()
	left := p.n
	p.mu.Unlock()
	var first error
	for left > 0 && ctx.Err() == nil {
		p.mu.Lock()
		k := p.take(min(left, p.cfg.batchSize))
		p.mu.Unlock()
		if k == 0 {
			break
		}
		left -= k
		if err := p.export(ctx); err != nil && first == nil {
			first = err
		}
	}
	if first == nil {
		first = ctx.Err()
	}
	return first
}

// drain exports all the spans queued, once Shutdown has stopped new ones,
// and shuts the exporter down. Spans left when ctx ends are dropped.
func (p *SpanProcessor) drain(ctx context.Context) error {
	var first error
	for ctx.Err() == nil {
		p.mu.Lock()
		k := p.take(math.MaxInt)
		p.mu.Unlock()
		if k == 0 {
			break
		}
		if err := p.export(ctx); err != nil && first == nil {
			first = err
		}
	}
	p.mu.Lock()
	left := p.n
	// The metrics keep the processor alive: free the queue, which OnEnd
	// no longer looks at.
	p.ring, p.head, p.n = nil, 0, 0
	p.mu.Unlock()
	p.batch = nil
	p.drop(dropShutdown, left)
	return errors.Join(first, p.exporter.Shutdown(ctx))
}

// take moves up to max spans, and at most a batch, from the head of the
// queue to p.batch, and returns how many. p.mu must be held.
func (p *SpanProcessor) take(max int) int {
	k := min(p.n, max, p.cfg.batchSize)
	for range k {
		p.batch = append(p.batch, p.ring[p.head])
		p.ring[p.head] = nil // let the span be collected once exported
		if p.head++; p.head == len(p.ring) {
			p.head = 0
		}
	}
	p.n -= k
	if k > 0 && p.waiting > 0 {
		p.notFull.Broadcast()
	}
	return k
}

// export gives p.batch to the exporter, empties it and counts the result.
func (p *SpanProcessor) export(ctx context.Context) error {
	if p.cfg.exportTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, p.cfg.exportTimeout)
		defer cancel()
	}
	k := len(p.batch)
	err := p.exporter.ExportSpans(ctx, p.batch)
	clear(p.batch)
	p.batch = p.batch[:0]
	if err != nil {
		p.counts.failed.Add(1)
		p.warn.exportFailed(err, k)
		return err
	}
	p.counts.exported.Add(uint64(k))
	return nil
}

// report logs the losses due for a warning; all of them if final.
func (p *SpanProcessor) report(final bool) {
	p.warn.report(p.counts.dropped[dropQueueFull].Load(), p.counts.dropped[dropShutdown].Load(), final)
}
