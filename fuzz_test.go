package observe_test

import (
	"context"
	"encoding/binary"
	"io"
	"sync/atomic"
	"testing"

	extism "github.com/extism/go-sdk"
	"github.com/rs/zerolog"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/extism-observe/observe"
)

// spanBalance is a span processor that counts the spans started and ended,
// without keeping them, so that a long fuzzing run stays small.
type spanBalance struct{ started, ended atomic.Int64 }

func (b *spanBalance) OnStart(context.Context, sdktrace.ReadWriteSpan) { b.started.Add(1) }
func (b *spanBalance) OnEnd(sdktrace.ReadOnlySpan)                     { b.ended.Add(1) }
func (*spanBalance) Shutdown(context.Context) error                    { return nil }
func (*spanBalance) ForceFlush(context.Context) error                  { return nil }

// prog builds an interp.wasm program.
type prog []byte

func (p prog) op(op byte, args ...any) prog {
	p = append(p, op)
	for _, a := range args {
		switch v := a.(type) {
		case uint8:
			p = append(p, v)
		case int8:
			p = append(p, byte(v))
		case uint16:
			p = binary.LittleEndian.AppendUint16(p, v)
		case uint32:
			p = binary.LittleEndian.AppendUint32(p, v)
		}
	}
	return p
}

// FuzzHostCalls drives the whole host-call layer, all three namespaces,
// with any sequence of Observe API calls and arguments against a real
// guest memory (testdata/interp.wasm runs its input as a program). Whatever
// the sequence, the call completes, nothing panics, and every span started
// is ended by the end of the call.
func FuzzHostCalls(f *testing.F) {
	const raw = 0x80000000
	f.Add([]byte{})
	f.Add([]byte(prog{}.op(0, uint32(0), uint32(4)).op(2, uint32(0), uint32(20)).op(1)))
	f.Add([]byte(prog{}.op(5, uint16(3)).op(0, uint32(0), uint32(1)).op(6, uint16(3)).op(1).op(7, uint8(2))))
	f.Add([]byte(prog{}.op(5, uint16(1)).op(5, uint16(2)).op(3, int8(3), uint32(0), uint32(9)).op(6, uint16(1)).op(6, uint16(9))))
	f.Add([]byte(prog{}.op(8, uint32(raw|0x7fffffff), uint32(4)).op(9).op(10, int8(-1), uint32(0), uint32(raw|100))))
	f.Add(append([]byte(prog{}.op(4, int8(1), uint32(10), uint32(16))), "x:1|c\nbad\ny:2|g"...))
	f.Add(append([]byte(prog{}.op(11, int8(1), uint32(10), uint32(40))), "a:1|c|@0.5|#k:v\n"...))

	balance := &spanBalance{}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(balance))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	f.Cleanup(func() {
		_ = tp.Shutdown(context.Background())
		_ = mp.Shutdown(context.Background())
	})
	obs := observe.New(
		observe.WithTracerProvider(tp),
		observe.WithMeterProvider(mp),
		observe.WithLogger(zerolog.New(io.Discard).Level(zerolog.TraceLevel)),
		observe.WithLimits(observe.Limits{MaxSpanDepth: 16, MaxSpansPerCall: 64, MaxStringBytes: 128, MaxTagsPerCall: 32}),
	)
	p, err := extism.NewPlugin(obs.Context(context.Background()), manifest(f, "interp.wasm"), extism.PluginConfig{}, obs.HostFunctions())
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = p.Close(context.Background()) })

	f.Fuzz(func(t *testing.T, program []byte) {
		ctx, span := tp.Tracer("fuzz").Start(context.Background(), "request")
		rc, _, err := p.CallWithContext(ctx, "run", program)
		span.End()
		if rc != 0 || err != nil {
			t.Fatalf("rc=%d err=%v", rc, err)
		}
		if s, e := balance.started.Load(), balance.ended.Load(); s != e {
			t.Fatalf("%d spans started, %d ended", s, e)
		}
	})
}
