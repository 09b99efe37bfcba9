package extism

// Added to a copy of the Extism Go SDK by the compatibility suite of
// github.com/extism-observe/observe (compat/): the SDK's tests create
// their plugins through observedNewCompiledPlugin, which hands them to
// ObserveHook when observe_setup_test.go set it.

import "context"

// ObserveHook, when set, changes the ctx and host functions of every
// plugin the tests create, the way an app enables the observer.
var ObserveHook func(ctx context.Context, config PluginConfig, funcs []HostFunction) (context.Context, []HostFunction)

func observedNewCompiledPlugin(ctx context.Context, manifest Manifest, config PluginConfig, funcs []HostFunction) (*CompiledPlugin, error) {
	if ObserveHook != nil {
		ctx, funcs = ObserveHook(ctx, config, funcs)
	}
	return NewCompiledPlugin(ctx, manifest, config, funcs)
}

func observedNewPlugin(ctx context.Context, manifest Manifest, config PluginConfig, funcs []HostFunction) (*Plugin, error) {
	if ObserveHook != nil {
		ctx, funcs = ObserveHook(ctx, config, funcs)
	}
	return NewPlugin(ctx, manifest, config, funcs)
}
