package observe

import (
	"context"
	"os"
	"testing"

	extism "github.com/extism/go-sdk"
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
