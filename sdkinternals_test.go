package observe

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"

	extism "github.com/extism/go-sdk"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/extism-observe/observe/internal/wasmdefs"
)

// The Extism SDK internals the observer reads, pinned: a new SDK that moves
// them fails here, by name, rather than quietly losing a feature.
func TestCurrentPluginHoldsPlugin(t *testing.T) {
	if !currentPluginHoldsPlugin {
		t.Fatal("extism.CurrentPlugin is no longer a struct of its *Plugin: pluginOf reads nothing, and every host call walks the ctx")
	}
	data, err := os.ReadFile("testdata/hostcall.wasm")
	if err != nil {
		t.Fatal(err)
	}
	var got, want *extism.Plugin
	appWork := extism.NewHostFunctionWithStack("app_work", func(ctx context.Context, cp *extism.CurrentPlugin, _ []uint64) {
		got, want = pluginOf(cp), ctx.Value(pluginKey).(*extism.Plugin)
	}, nil, nil)
	o := New()
	p, err := extism.NewPlugin(o.Context(context.Background()), extism.Manifest{Wasm: []extism.Wasm{extism.WasmData{Data: data}}},
		extism.PluginConfig{}, append(o.HostFunctions(), appWork))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(context.Background())
	if _, _, err := p.Call("run", nil); err != nil {
		t.Fatal(err)
	}
	if got == nil || got != want || got != p {
		t.Errorf("pluginOf gave %p, the ctx %p, the plugin is %p", got, want, p)
	}
}

func TestPluginLoggerIsFound(t *testing.T) {
	if logFieldOffset == ^uintptr(0) {
		t.Fatal("extism.Plugin has no log func(LogLevel, string) field: Extism PDK logs cannot reach the observer")
	}
}

// Two plugins whose addresses share a slot of callSlots each find their own
// call: the first in the slot, the second in the map; and an ended call is
// found by neither.
func TestCallSlotsShareASlot(t *testing.T) {
	var p1, p2 *extism.Plugin
	seen := map[*atomic.Pointer[callEntry]]*extism.Plugin{}
	var keep []*extism.Plugin
	for p1 == nil {
		p := new(extism.Plugin)
		keep = append(keep, p)
		if q, ok := seen[slotOf(p)]; ok {
			p1, p2 = q, p
		}
		seen[slotOf(p)] = p
	}
	c1, c2 := callPool.Get().(*call), callPool.Get().(*call)
	c1.register(p1)
	c2.register(p2)
	if c1.slot == nil || c2.slot != nil {
		t.Fatalf("slots: first %v, second %v; want the first in, the second out", c1.slot, c2.slot)
	}
	if got := callOfPlugin(p1); got != c1 {
		t.Errorf("p1's call is %p, want %p", got, c1)
	}
	if got := callOfPlugin(p2); got != c2 {
		t.Errorf("p2's call is %p, want %p", got, c2)
	}
	c1.unregister(p1)
	if got := callOfPlugin(p1); got != nil {
		t.Errorf("p1's ended call is still found: %p", got)
	}
	if got := callOfPlugin(p2); got != c2 {
		t.Errorf("p2's call is %p after p1's ended, want %p", got, c2)
	}
	c2.unregister(p2)
	if callOfPlugin(p2) != nil || slotOf(p1).Load() != nil {
		t.Error("an ended call is still found")
	}
	c1.release()
	c2.release()
	_ = keep
}

// wasmdefs.OfInstance reads wazero's ModuleInstance at offsets learned once:
// the definitions it finds must be those a definition of the same instance
// is an element of (wasmdefs.Array, which reads the definition itself).
func TestOfInstanceFindsTheDefinitions(t *testing.T) {
	ctx := context.Background()
	data, err := os.ReadFile("testdata/bench/calls.wasm")
	if err != nil {
		t.Fatal(err)
	}
	r := wazero.NewRuntime(ctx)
	defer r.Close(ctx)
	for i := range 2 {
		mod, err := r.InstantiateWithConfig(ctx, data, wazero.NewModuleConfig().WithName(fmt.Sprint("calls", i)))
		if err != nil {
			t.Fatal(err)
		}
		var def api.FunctionDefinition
		for _, d := range mod.ExportedFunctionDefinitions() {
			def = d
			break
		}
		if def == nil {
			t.Fatal("calls.wasm exports no function")
		}
		want, _, ok := wasmdefs.Array(def)
		got, ok2 := wasmdefs.OfInstance(mod)
		if !ok || !ok2 || got != want {
			t.Errorf("instance %d: OfInstance %p (%v), the definitions are at %p (%v)", i, got, ok2, want, ok)
		}
	}
}

// TestModuleHoldsInstance fails on an Extism SDK whose Module is no longer
// a struct of the api.Module it wraps: inertObserver then finds no
// Observer, and an inert Observer's plugins send the guest's HTTP requests
// without the caller's trace context (TestInertPluginHasNoCall and
// TestSilentCallHTTP fail too).
func TestModuleHoldsInstance(t *testing.T) {
	if !moduleHoldsInstance {
		t.Fatal("extism.Module is no longer a struct of its api.Module: inertObserver finds nothing")
	}
}
