// Package batch is a batch span processor for the OpenTelemetry SDK that
// never loses spans silently. Use it in place of sdktrace.WithBatcher:
//
//	tp := sdktrace.NewTracerProvider(
//		sdktrace.WithSpanProcessor(batch.NewSpanProcessor(exporter)),
//	)
//
// # Why
//
// The SDK's BatchSpanProcessor queues ended spans, 2048 by default, for a
// goroutine to export in batches. When spans end faster than they are
// exported and the queue is full, it drops them, and tells no one: its
// count of dropped spans is only exported when the experimental
// OTEL_GO_X_OBSERVABILITY flag is set. A WebAssembly plugin can record tens
// of thousands of spans in one call (a span per guest function is common),
// so with the defaults most of a call's trace can vanish without a word.
//
// [SpanProcessor] works the same way, with the same defaults and the same
// OTEL_BSP_* environment variables, but a span it drops is counted, by
// [SpanProcessor.Dropped] and by the observe.exporter.spans.dropped metric,
// and reported in a warning on a zerolog logger, at most once a minute
// ([WithWarnInterval]), saying how many were dropped and what to do about
// it. Failed exports are counted (observe.exporter.errors) and reported the
// same way. It can also wait for room instead of dropping ([WithBlocking]).
//
// # Sizing the queue
//
// Spans enter the queue as they end, and leave it a batch at a time, one
// export after the other. So the exporter drains at most one batch per
// export: with batches of 512 spans and 20 ms per export to a collector on
// the same host, about 25,000 spans/s; with 200 ms per export to a backend
// across the internet, about 2,500 spans/s. The batch timeout does not
// limit that rate: a full batch leaves at once, and the timeout only bounds
// how long a span waits when spans are few (fewer than a batch per
// timeout, which the queue always holds).
//
// A span is dropped when the queue is full, that is, when spans have ended
// faster than the exporter drains them for long enough to fill it:
//
//   - A burst: a plugin call that records S spans in a time d, shorter than
//     it takes to export them, puts nearly all of them in the queue at
//     once. During the call the exporter removes about (drain rate x d),
//     plus the batch it is exporting, which is out of the queue. The queue
//     must hold the rest, for each call that can burst at the same time
//     (concurrent plugin instances), plus the app's own spans meanwhile.
//   - Sustained load: if spans end faster on average than the exporter
//     drains them, no queue is large enough, it only puts the drops off.
//     Export faster (a collector near the host), record fewer spans, or
//     slow the plugin down with [WithBlocking].
//
// For example, a plugin call records 20,000 spans in 40 ms, and the
// exporter takes 50 ms per batch of 512, about 10,000 spans/s. During the
// call it removes about 400 spans, and holds 512 more in the batch it is
// exporting; the queue must hold the other 19,000 or so. With the default
// queue of 2048, some 17,000 spans of that call are dropped, and the
// warning says so. WithQueueSize(20_000), or OTEL_BSP_MAX_QUEUE_SIZE=20000,
// keeps them all; two such calls at once need twice that. The queue then
// takes 2 s to empty, so calls coming more often than every 2 s are a
// sustained load that no queue size fixes. Recording fewer spans is then
// the fix: observe.WithMinDuration drops short function spans, and
// observe.Limits bounds what a call can record.
//
// A queued span holds its data until exported: about 1 KB for a span
// without attributes, 2 to 3 KB with a few attributes and an event
// (BenchmarkSpan measures it, as B/op). A full queue of 20,000 such spans
// holds 20 to 60 MB. The queue itself costs 16 bytes per slot, allocated
// when the processor is made: 320 KB for 20,000.
//
// The observe.exporter.spans.dropped metric, or the warnings, tell how far
// off a queue is: a call that drops N spans needs a queue about N larger.
//
// # Dropping or blocking
//
// By default a span that finds the queue full is dropped at once, so a slow
// or unreachable backend never slows the app down. With [WithBlocking],
// span.End waits for room instead: nothing is lost, but a plugin call,
// which ends its spans as it runs, goes at the exporter's pace while the
// queue is full, and an export that hangs holds it up for as long as the
// export timeout allows. Choose it when every span matters more than
// latency: tests, benchmarks, batch jobs, profiling a plugin, or a
// collector on the same host that keeps up anyway. Keep dropping for hosts
// that serve requests.
//
// # Differences from the SDK's processor
//
// [SpanProcessor.ForceFlush] needs no room in the queue, and exports what is
// queued even when the queue is full. [SpanProcessor.Shutdown] exports the
// queue within its ctx; spans it has no time for are dropped and counted
// (reason shutdown), as are spans waiting for room with WithBlocking.
// Spans that end after Shutdown are ignored, as in the SDK, and not counted.
// The processor's goroutine, not the one that ends a span, writes the
// warnings, so that a slow log never slows a plugin call; a warning can
// therefore come late, after the export running when the spans were
// dropped has finished.
package batch
