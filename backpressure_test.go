package observe_test

import (
	"bytes"
	"context"
	"strconv"
	"strings"
	"sync"
	"testing"

	extism "github.com/extism/go-sdk"
	"github.com/rs/zerolog"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/extism-observe/observe"
	"github.com/extism-observe/observe/exporters/batch"
)

// gateExporter holds its first export until released, so that a test can
// fill the queue in front of it deterministically.
type gateExporter struct {
	gate     chan struct{}
	once     sync.Once
	mu       sync.Mutex
	exported int
}

func (e *gateExporter) ExportSpans(_ context.Context, spans []sdktrace.ReadOnlySpan) error {
	e.once.Do(func() { <-e.gate })
	e.mu.Lock()
	e.exported += len(spans)
	e.mu.Unlock()
	return nil
}
func (*gateExporter) Shutdown(context.Context) error { return nil }

// A plugin that records far more spans than the exporter's queue holds:
// what is dropped is counted and reported, never silent, and everything
// else arrives.
func TestBackPressureIsNeverSilent(t *testing.T) {
	exp := &gateExporter{gate: make(chan struct{})}
	var warnings bytes.Buffer
	bsp := batch.NewSpanProcessor(exp, batch.WithQueueSize(100), batch.WithBatchSize(10),
		batch.WithLogger(zerolog.New(&warnings)))
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(bsp))
	obs := observe.New(observe.WithTracerProvider(tp))
	p, err := extism.NewPlugin(obs.Context(context.Background()), manifest(t, "cguest.wasm"), extism.PluginConfig{}, obs.HostFunctions())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(context.Background())

	const spans = 1000
	if _, _, err := p.CallWithContext(context.Background(), "spans", []byte(strconv.Itoa(spans))); err != nil {
		t.Fatal(err)
	}
	close(exp.gate)
	if err := tp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	ended := spans + 1 // and the call span
	if dropped := int(bsp.Dropped()); dropped == 0 || dropped+exp.exported != ended {
		t.Errorf("dropped %d + exported %d != ended %d", dropped, exp.exported, ended)
	}
	if !strings.Contains(warnings.String(), "WithQueueSize") {
		t.Errorf("no warning naming the fix: %q", warnings.String())
	}
}
