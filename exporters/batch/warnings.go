package batch

import (
	"time"

	"github.com/rs/zerolog"
)

// The messages of the warnings, which say what to do.
const (
	msgQueueFull = "observe/batch: span queue full, spans dropped; " +
		"raise the queue size (batch.WithQueueSize or OTEL_BSP_MAX_QUEUE_SIZE), " +
		"record fewer spans in the plugin (observe.WithMinDuration, observe.Limits), " +
		"or slow plugin calls down instead of dropping (batch.WithBlocking)"
	msgShutdown = "observe/batch: spans dropped at shutdown; " +
		"give Shutdown a ctx with more time to export the queue"
	msgExportFailed = "observe/batch: span export failed, spans lost; " +
		"check that the exporter's endpoint is reachable and accepts them, " +
		"or raise the export timeout (batch.WithExportTimeout or OTEL_BSP_EXPORT_TIMEOUT)"
)

// warnings logs the processor's losses, at most once per interval for
// drops and once per interval for failed exports, so that a flood of one
// cannot hide the other, nor flood the log. Each line says how many were
// lost since the line before. Only the processor's goroutine uses it.
type warnings struct {
	logger    zerolog.Logger
	interval  time.Duration
	now       func() time.Time
	queueSize int

	nextDrop     time.Time // no drop warning before
	loggedDrops  uint64    // queue-full drops counted in warnings so far
	loggedAtStop uint64    // shutdown drops counted in warnings so far

	nextError time.Time // no export-error warning before
	failed    int       // exports failed since the last warning
	lost      int       // spans in them
	lastErr   error
}

// exportFailed records a failed export of k spans, for the next warning.
func (w *warnings) exportFailed(err error, k int) {
	w.failed++
	w.lost += k
	w.lastErr = err
}

// report logs what was lost since the last warnings, if their interval is
// over, or anyway if final. queueFull and shutdown are the totals of the
// spans dropped for each reason.
func (w *warnings) report(queueFull, shutdown uint64, final bool) {
	if queueFull == w.loggedDrops && w.failed == 0 && shutdown == w.loggedAtStop {
		return
	}
	now := w.now()
	if d := queueFull - w.loggedDrops; d > 0 && (final || !now.Before(w.nextDrop)) {
		w.loggedDrops = queueFull
		w.nextDrop = now.Add(w.interval)
		w.logger.Warn().
			Uint64("dropped", d).
			Uint64("dropped_total", queueFull).
			Int("queue_size", w.queueSize).
			Msg(msgQueueFull)
	}
	if w.failed > 0 && (final || !now.Before(w.nextError)) {
		w.nextError = now.Add(w.interval)
		w.logger.Error().
			Err(w.lastErr).
			Int("failed_exports", w.failed).
			Int("spans_lost", w.lost).
			Msg(msgExportFailed)
		w.failed, w.lost, w.lastErr = 0, 0, nil
	}
	if d := shutdown - w.loggedAtStop; d > 0 && final {
		w.loggedAtStop = shutdown
		w.logger.Warn().
			Uint64("dropped", d).
			Msg(msgShutdown)
	}
}
