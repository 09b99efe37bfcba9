package e2e_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/extism-observe/observe/internal/testutil"

	extism "github.com/extism/go-sdk"
	"github.com/rs/zerolog"
	zlog "github.com/rs/zerolog/log"
	"github.com/tetratelabs/wazero"
	"go.opentelemetry.io/otel/trace"

	"github.com/extism-observe/observe"
	"github.com/extism-observe/observe/exporters/otlp"
)

// An export that cannot be delivered takes this long to fail (the
// exporters retry until then): long beside a plugin call, so that a call
// held up by the exporter would show.
const (
	exportTimeout = 5 * time.Second
	queueSize     = 64 // spans and log records waiting for export
	roundCalls    = 40 // plugin calls in each round
	spansPerCall  = 8  // the caller span and the demo's 7
	// shutdownDeadline is the ctx deadline given to Providers.Shutdown;
	// it must return by about then, whatever the backend does.
	shutdownDeadline = 2 * time.Second
	shutdownSlack    = 5 * time.Second
)

// TestBackendDown runs plugin calls while the OTLP backend is down, or
// refuses every export: the calls complete at their own pace, the spans
// that do not fit in the exporter's queue are dropped and counted (and
// warned about), memory stays flat, and shutting the providers down with a
// deadline returns by that deadline.
func TestBackendDown(t *testing.T) {
	for _, tc := range []struct {
		name string
		// hangs: an export retries until its timeout (gRPC's Unavailable,
		// HTTP's 503), rather than failing at once (HTTP's refused
		// connection, which the exporter does not retry).
		hangs bool
		setup func(t *testing.T) (endpoint string, protocol otlp.Protocol, requests func() int64)
	}{
		{"grpc nothing listening", true, func(t *testing.T) (string, otlp.Protocol, func() int64) {
			return freeAddr(t), otlp.GRPC, nil
		}},
		{"http nothing listening", false, func(t *testing.T) (string, otlp.Protocol, func() int64) {
			return "http://" + freeAddr(t), otlp.HTTP, nil
		}},
		{"http 503", true, func(t *testing.T) (string, otlp.Protocol, func() int64) {
			var n atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n.Add(1)
				http.Error(w, "overloaded", http.StatusServiceUnavailable)
			}))
			t.Cleanup(srv.Close)
			return srv.URL, otlp.HTTP, n.Load
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			endpoint, protocol, requests := tc.setup(t)
			checkBackendDown(t, endpoint, protocol, tc.hangs, requests)
		})
	}
}

// compilationCache is shared by the subtests of TestBackendDown.
var compilationCache = wazero.NewCompilationCache()

// msgExportFailed starts the batch span processor's warning about a failed
// export.
const msgExportFailed = "observe/batch: span export failed"

func checkBackendDown(t *testing.T, endpoint string, protocol otlp.Protocol, hangs bool, requests func() int64) {
	// Every timeout that bounds an export. For OTLP/HTTP,
	// OTEL_EXPORTER_OTLP_TIMEOUT bounds each request, not the retries of a
	// refused export: those last until the processor's export timeout
	// (OTEL_BSP_EXPORT_TIMEOUT, 30 s by default). For gRPC it bounds the
	// whole export.
	ms := strconv.FormatInt(exportTimeout.Milliseconds(), 10)
	for _, v := range []string{"OTEL_EXPORTER_OTLP_TIMEOUT", "OTEL_BSP_EXPORT_TIMEOUT", "OTEL_BLRP_EXPORT_TIMEOUT", "OTEL_METRIC_EXPORT_TIMEOUT"} {
		t.Setenv(v, ms)
	}
	// Metrics are exported while the calls run too.
	t.Setenv("OTEL_METRIC_EXPORT_INTERVAL", "200")

	// The batch span processor warns on zerolog's global logger, as it is
	// when the processor is made.
	warnings := &testutil.Buffer{}
	saved := zlog.Logger
	zlog.Logger = zerolog.New(warnings)
	t.Cleanup(func() { zlog.Logger = saved })

	ctx := withTimeout(t, 2*time.Minute)
	p, err := otlp.Setup(ctx,
		otlp.WithProtocol(protocol),
		otlp.WithEndpoint(endpoint),
		otlp.WithInsecure(),
		otlp.WithServiceName(hostService),
		otlp.WithBatchTimeout(10*time.Millisecond),
		otlp.WithMaxQueueSize(queueSize),
	)
	if err != nil {
		t.Fatal(err)
	}
	shutDown := false
	t.Cleanup(func() {
		if !shutDown {
			sctx, cancel := context.WithTimeout(context.Background(), shutdownDeadline)
			defer cancel()
			_ = p.Shutdown(sctx)
		}
	})
	zlog.Logger = saved

	obs := observe.New(
		observe.WithTracerProvider(p.TracerProvider),
		observe.WithMeterProvider(p.MeterProvider),
		observe.WithLoggerProvider(p.LoggerProvider),
		observe.WithLogger(zerolog.Nop()),
	)
	manifest := extism.Manifest{Wasm: []extism.Wasm{extism.WasmFile{Path: demoWasm}}}
	compiled, err := extism.NewCompiledPlugin(obs.Context(ctx, observe.PluginName("demo")), manifest,
		extism.PluginConfig{
			EnableWasi: true,
			// The subtests compile the demo once (it takes seconds with -race).
			RuntimeConfig: wazero.NewRuntimeConfig().WithCompilationCache(compilationCache),
		}, obs.HostFunctions())
	if err != nil {
		t.Fatal(err)
	}
	defer compiled.Close(ctx)
	tracer := p.TracerProvider.Tracer("e2e")

	// round makes n plugin calls, each on an instance of its own, and
	// returns how long each took.
	round := func(n int) []time.Duration {
		t.Helper()
		var took []time.Duration
		for range n {
			start := time.Now()
			callCtx, span := tracer.Start(ctx, "request", trace.WithSpanKind(trace.SpanKindServer))
			inst, err := compiled.Instance(callCtx, extism.PluginInstanceConfig{})
			if err != nil {
				t.Fatal(err)
			}
			rc, _, err := inst.CallWithContext(callCtx, "_start", nil)
			span.End()
			_ = inst.Close(ctx)
			if err != nil || rc != 0 {
				t.Fatalf("_start: rc %d, %v", rc, err)
			}
			took = append(took, time.Since(start))
		}
		return took
	}
	checkPace := func(what string, took []time.Duration) {
		t.Helper()
		slices.Sort(took)
		median, slowest := took[len(took)/2], took[len(took)-1]
		t.Logf("%s: %d calls, median %v, slowest %v (export timeout %v)", what, len(took), median, slowest, exportTimeout)
		// A call that waited for an export would take the export timeout.
		if slowest >= exportTimeout {
			t.Errorf("%s: a call took %v: held up by the exporter (export timeout %v)", what, slowest, exportTimeout)
		}
	}

	round(5) // warm up: compilation cache, first allocations
	heapBefore := heapInUse()
	start := time.Now()
	checkPace("round 1, the first export in flight", round(roundCalls))

	// The first export fails, after exportTimeout at the latest, and the
	// processor warns about it, and about the spans it dropped meanwhile.
	// The warnings come from the processor's goroutine once its export has
	// failed; nothing can be flushed while it hangs, so poll for them.
	for deadline := time.Now().Add(exportTimeout + 20*time.Second); !strings.Contains(warnings.String(), msgExportFailed); {
		if time.Now().After(deadline) {
			t.Fatalf("no warning about a failed export %v after the calls; warnings:\n%s", time.Since(start), warnings.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("warnings after %v:\n%s", time.Since(start), warnings.String())
	dropped := droppedTotal(warnings.String())
	if made := uint64((5 + roundCalls) * spansPerCall); dropped > made {
		t.Errorf("%d spans dropped, more than the %d made", dropped, made)
	} else if hangs && dropped == 0 {
		// The export hung while the calls made several queues' worth of
		// spans: the queue must have dropped some, not grown.
		t.Errorf("no span dropped while the export hung, with %d spans made and a queue of %d", made, queueSize)
	}

	checkPace("round 2, after an export failed", round(roundCalls))
	heapAfter := heapInUse()
	t.Logf("heap in use: %d KiB before, %d KiB after %d calls", heapBefore>>10, heapAfter>>10, 2*roundCalls)
	// The queues hold 64 spans and 64 log records; the metrics are
	// aggregated. Allow generously for the rest.
	if grown := int64(heapAfter) - int64(heapBefore); grown > 32<<20 {
		t.Errorf("heap grew by %d MiB over %d calls with the backend down", grown>>20, 2*roundCalls)
	}
	if requests != nil {
		if n := requests(); n == 0 {
			t.Error("the backend got no export request")
		} else {
			t.Logf("the backend refused %d export requests", n)
		}
	}

	// Shutdown, with a deadline: it gives up by then, and says so.
	sctx, cancel := context.WithTimeout(context.Background(), shutdownDeadline)
	defer cancel()
	shutStart := time.Now()
	err = p.Shutdown(sctx)
	shutDown = true
	took := time.Since(shutStart)
	t.Logf("Shutdown returned after %v: %v", took, err)
	if took > shutdownDeadline+shutdownSlack {
		t.Errorf("Shutdown took %v with a deadline of %v", took, shutdownDeadline)
	}
	if err == nil {
		t.Error("Shutdown reported no error, with nothing delivered")
	}
}

// droppedTotal reads the batch span processor's warnings (zerolog JSON)
// for the spans it dropped at a full queue, and returns the latest total.
func droppedTotal(log string) uint64 {
	var total uint64
	sc := bufio.NewScanner(strings.NewReader(log))
	for sc.Scan() {
		var l struct {
			DroppedTotal uint64 `json:"dropped_total"`
		}
		if json.Unmarshal(sc.Bytes(), &l) == nil && l.DroppedTotal > total {
			total = l.DroppedTotal
		}
	}
	return total
}

func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}
