package observe

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	extism "github.com/extism/go-sdk"
	"github.com/tetratelabs/wazero"
	lognoop "go.opentelemetry.io/otel/log/noop"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// inertOptions are the options of an inert Observer.
func inertOptions() []Option { return allOff(WithLoggerProvider(lognoop.NewLoggerProvider())) }

// inCall is a plugin of hostcall.wasm whose app host function records, in
// the call, what the observer knows of it.
type inCall struct {
	p *extism.Plugin
	// Of the call in progress as the Observe API finds it, read in the
	// call (a call is cleared when it ends): whether there is one, its
	// Observer, and whether it is silent or recording.
	tracked, silent, recording bool
	obs                        *Observer
	observer                   *Observer // inertObserver of the plugin
	runs                       int
}

func newInCall(t *testing.T, o *Observer, cfg extism.PluginConfig) *inCall {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "hostcall.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	ic := &inCall{}
	appWork := extism.NewHostFunctionWithStack("app_work", func(ctx context.Context, _ *extism.CurrentPlugin, _ []uint64) {
		key, c := pluginCall(ctx)
		ic.tracked, ic.observer = c != nil, inertObserver(key)
		if c != nil {
			ic.obs, ic.silent, ic.recording = c.obs, c.silent, c.recording
		}
		ic.runs++
	}, nil, nil)
	p, err := extism.NewPlugin(o.Context(context.Background()), extism.Manifest{Wasm: []extism.Wasm{extism.WasmData{Data: data}}},
		cfg, append(o.HostFunctions(), appWork))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close(context.Background()) })
	ic.p = p
	return ic
}

func (ic *inCall) run(t *testing.T, ctx context.Context) {
	t.Helper()
	if rc, _, err := ic.p.CallWithContext(ctx, "run", nil); rc != 0 || err != nil {
		t.Fatalf("rc=%d err=%v", rc, err)
	}
	if ic.runs == 0 {
		t.Fatal("the app's host function did not run")
	}
}

// The plugins of an inert Observer run without it: no call is tracked
// (they have no listeners), its host functions find none and report
// nothing, and the plugin still leads to its Observer. A silent call is
// tracked; its Observer is not inert.
func TestInertPluginHasNoCall(t *testing.T) {
	inert := New(inertOptions()...)
	ic := newInCall(t, inert, extism.PluginConfig{})
	noContextWarned.Store(0)
	ic.run(t, sampledContext())
	if ic.tracked {
		t.Error("a call was tracked")
	}
	if ic.observer != inert {
		t.Errorf("inertObserver gave %p, want the plugin's Observer %p", ic.observer, inert)
	}
	if noContextWarned.Load() != 0 {
		t.Error("the Observe API's host functions reported a missing Context")
	}

	silent := newInCall(t, New(allOff()...), extism.PluginConfig{})
	silent.run(t, sampledContext())
	if !silent.tracked || !silent.silent {
		t.Errorf("tracked %v, silent %v: want a silent call tracked", silent.tracked, silent.silent)
	}
	if silent.observer != nil {
		t.Errorf("inertObserver gave %p for an Observer that is not inert", silent.observer)
	}
}

// With a shared compilation cache, an inert Observer's plugin and a
// recording Observer's plugin of the same bytes each run as their own
// Observer has it, whichever was created first: the compile without
// listeners never serves the Observer that needs them, nor the other way
// round.
func TestInertSharedCompilationCache(t *testing.T) {
	for _, inertFirst := range []bool{true, false} {
		name := map[bool]string{true: "inert first", false: "recording first"}[inertFirst]
		t.Run(name, func(t *testing.T) {
			cache := wazero.NewCompilationCache()
			t.Cleanup(func() { _ = cache.Close(context.Background()) })
			cfg := extism.PluginConfig{RuntimeConfig: wazero.NewRuntimeConfig().WithCompilationCache(cache)}
			rec := tracetest.NewSpanRecorder()
			recording := New(WithTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))))
			var inert, live *inCall
			if inertFirst {
				inert, live = newInCall(t, New(inertOptions()...), cfg), newInCall(t, recording, cfg)
			} else {
				live, inert = newInCall(t, recording, cfg), newInCall(t, New(inertOptions()...), cfg)
			}
			for range 2 {
				inert.run(t, sampledContext())
				live.run(t, sampledContext())
			}
			if inert.tracked {
				t.Error("the inert Observer's plugin has a call tracked")
			}
			if !live.tracked || live.obs != recording || !live.recording {
				t.Errorf("the recording Observer's plugin: tracked %v, recording %v, its Observer's: %v; want its recording call",
					live.tracked, live.recording, live.obs == recording)
			}
			// Each call of hostcall.wasm run: its call span, and the guest's span.
			if n := len(rec.Ended()); n != 4 {
				t.Errorf("%d spans recorded, want the 4 of the recording Observer's 2 calls", n)
			}
		})
	}
}
