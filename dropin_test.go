package observe_test

// Tests for the ways real Extism apps create and run plugins: a shared
// compilation cache, their own wazero listeners, plugins created and closed
// over time, the SDK's ObserveAdapter, and how calls fail. Plugins written
// elsewhere come from the Extism Go SDK's own test plugins, in the module
// cache.

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	observesdk "github.com/dylibso/observe-sdk/go/adapter/stdout"
	extism "github.com/extism/go-sdk"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/experimental/logging"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/extism-observe/observe"
)

var sdkDir = sync.OnceValues(func() (string, error) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/extism/go-sdk").Output()
	return strings.TrimSpace(string(out)), err
})

// sdkManifest is a manifest of one of the Extism Go SDK's own test plugins.
func sdkManifest(t testing.TB, name string) extism.Manifest {
	t.Helper()
	dir, err := sdkDir()
	if err != nil || dir == "" {
		t.Fatalf("the Extism Go SDK is not in the module cache (go list: %v)", err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "wasm", name))
	if err != nil {
		t.Fatal(err)
	}
	return extism.Manifest{Wasm: []extism.Wasm{extism.WasmData{Data: b}}}
}

// heapAfterGC returns the heap in use once garbage, and the cleanups it
// triggers, are gone.
func heapAfterGC() uint64 {
	var ms runtime.MemStats
	for range 3 {
		runtime.GC()
		runtime.Gosched()
	}
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// Item 1: a closed plugin leaves nothing behind, its module and memory
// included.
func TestClosedPluginsAreReleased(t *testing.T) {
	h := newHarness(t, observe.WithMinDuration(0))
	run := func(observed bool) uint64 {
		before := heapAfterGC()
		for range 8 {
			ctx := context.Background()
			if observed {
				ctx = h.obs.Context(ctx)
			}
			p, err := extism.NewPlugin(ctx, manifest(t, "instrumented.wasm"), extism.PluginConfig{EnableWasi: true}, h.obs.HostFunctions())
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := p.CallWithContext(context.Background(), "run", nil); err != nil {
				t.Fatal(err)
			}
			p.Close(context.Background())
		}
		h.rec.Reset()
		after := heapAfterGC()
		return max(after, before) - before
	}
	run(true) // warm up: pools, instruments, interned names
	plain, observed := run(false), run(true)
	t.Logf("heap growth after 8 plugins created, called and closed: %d B unobserved, %d B observed", plain, observed)
	if observed > plain+256<<10 {
		t.Errorf("observed plugins left %d B behind (unobserved: %d B)", observed, plain)
	}
}

// sharedCachePlugin creates a plugin of name with obs and cache.
func sharedCachePlugin(t testing.TB, obs *observe.Observer, cache wazero.CompilationCache, m extism.Manifest) *extism.Plugin {
	t.Helper()
	cfg := extism.PluginConfig{EnableWasi: true, RuntimeConfig: wazero.NewRuntimeConfig().WithCompilationCache(cache)}
	p, err := extism.NewPlugin(obs.Context(context.Background()), m, cfg, obs.HostFunctions())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close(context.Background()) })
	return p
}

// Item 2: with one compilation cache, each plugin reports to the Observer
// whose Context created it; an untrusted Observer's guests stay out of the
// caller's trace.
func TestSharedCacheEachPluginReportsToItsObserver(t *testing.T) {
	cache := wazero.NewCompilationCache()
	defer cache.Close(context.Background())
	trusted := newHarness(t)
	untrusted := newHarness(t, observe.WithUntrustedGuests())
	m := manifest(t, "cguest.wasm")
	pa := sharedCachePlugin(t, trusted.obs, cache, m)
	pb := sharedCachePlugin(t, untrusted.obs, cache, m)
	for range 2 { // the second round runs instances made from cached code only
		reqA := trusted.request(func(ctx context.Context) { call(t, pa, ctx, "run") })
		reqB := untrusted.request(func(ctx context.Context) { call(t, pb, ctx, "run") })
		if got := trusted.tree(reqA.TraceID()); !slices.Contains(got, "request > run > handle_request") {
			t.Errorf("trusted plugin's trace %q has no guest span", got)
		}
		// B's caller trace holds the call span only; B's guest spans are
		// in a trace of their own, and A saw none of B.
		if got := untrusted.tree(reqB.TraceID()); !slices.Equal(got, []string{"request", "request > run"}) {
			t.Errorf("untrusted plugin's caller trace %q, want the call span only", got)
		}
		for _, s := range trusted.rec.Ended() {
			if s.SpanContext().TraceID() == reqB.TraceID() || strings.HasSuffix(s.Name(), "(guest)") {
				t.Errorf("the trusted Observer recorded %q of the untrusted plugin", s.Name())
			}
		}
		var guestRoot bool
		for _, s := range untrusted.rec.Ended() {
			if s.Name() == "run (guest)" && s.SpanContext().TraceID() != reqB.TraceID() {
				guestRoot = true
			}
		}
		if !guestRoot {
			t.Error("the untrusted plugin's guest trace is missing")
		}
		trusted.rec.Reset()
		untrusted.rec.Reset()
	}
}

// Item 2, the way real apps run plugins: a CompiledPlugin per Observer,
// from one cache, and an Instance per request created with the request's
// ctx, on the interpreter as on the compiler.
func TestSharedCacheCompiledPluginInstances(t *testing.T) {
	for _, rc := range []struct {
		name string
		cfg  func() wazero.RuntimeConfig
	}{{"compiler", wazero.NewRuntimeConfig}, {"interpreter", wazero.NewRuntimeConfigInterpreter}} {
		t.Run(rc.name, func(t *testing.T) {
			cache := wazero.NewCompilationCache()
			defer cache.Close(context.Background())
			m := manifest(t, "plain.wasm")
			hs := []*harness{newHarness(t, observe.WithFunctionSpans("*"), observe.WithMinDuration(0)),
				newHarness(t, observe.WithFunctionSpans("*"), observe.WithMinDuration(0), observe.WithUntrustedGuests())}
			var compiled []*extism.CompiledPlugin
			for _, h := range hs {
				cp, err := extism.NewCompiledPlugin(h.obs.Context(context.Background()), m,
					extism.PluginConfig{RuntimeConfig: rc.cfg().WithCompilationCache(cache)}, h.obs.HostFunctions())
				if err != nil {
					t.Fatal(err)
				}
				defer cp.Close(context.Background())
				compiled = append(compiled, cp)
			}
			for i, h := range hs {
				req := h.request(func(ctx context.Context) {
					p, err := compiled[i].Instance(ctx, extism.PluginInstanceConfig{})
					if err != nil {
						t.Fatal(err)
					}
					defer p.Close(ctx)
					call(t, p, ctx, "run")
				})
				got := h.tree(req.TraceID())
				want := []string{"request", "request > run", "request > run > outer"}
				if i == 1 { // untrusted: the function spans are in the guest's own trace
					want = []string{"request", "request > run"}
				}
				if len(got) < len(want) || !slices.Equal(got[:len(want)], want) {
					t.Errorf("Observer %d: tree %q, want it to start %q", i, got, want)
				}
				for _, s := range hs[1-i].rec.Ended() {
					t.Errorf("Observer %d's call reached the other Observer: %s %v", i, s.Name(), s.SpanContext().TraceID())
				}
				h.rec.Reset()
			}
		})
	}
}

// Item 2, the remaining mistake: a plugin given one Observer's Context and
// another's host functions reports nothing through them, and says so.
func TestForeignHostFunctionsAreDroppedAndReported(t *testing.T) {
	a, b := newHarness(t), newHarness(t, observe.WithUntrustedGuests())
	p, err := extism.NewPlugin(a.obs.Context(context.Background()), manifest(t, "cguest.wasm"),
		extism.PluginConfig{EnableWasi: true}, b.obs.HostFunctions())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(context.Background())
	req := a.request(func(ctx context.Context) { call(t, p, ctx, "run") })
	if got := a.tree(req.TraceID()); !slices.Equal(got, []string{"request", "request > run"}) {
		t.Errorf("tree %q, want the call span alone", got)
	}
	if n := len(b.rec.Ended()); n != 0 {
		t.Errorf("the Observer of the host functions recorded %d spans", n)
	}
	if !b.logged("error", "another Observer's HostFunctions") {
		t.Errorf("no error said why: %v", b.logLines())
	}
}

// Item 3: with a shared cache, creating plugins leaves nothing behind, with
// the defaults (Extism logs and HTTP spans on). (That it stays flat in time
// is measured by BenchmarkCreatePluginSharedCache.)
func TestSharedCacheCreationIsFlat(t *testing.T) {
	h := newHarness(t)
	cache := wazero.NewCompilationCache()
	defer cache.Close(context.Background())
	m := manifest(t, "cguest.wasm")
	create := func(n int) {
		for range n {
			cfg := extism.PluginConfig{EnableWasi: true, RuntimeConfig: wazero.NewRuntimeConfig().WithCompilationCache(cache)}
			p, err := extism.NewPlugin(h.obs.Context(context.Background()), m, cfg, h.obs.HostFunctions())
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := p.CallWithContext(context.Background(), "run", nil); err != nil {
				t.Fatal(err)
			}
			p.Close(context.Background())
		}
	}
	reset := func() { // what the test itself keeps: spans and log lines
		h.rec.Reset()
		h.logs.Reset()
	}
	create(20)
	reset()
	before := heapAfterGC()
	create(300)
	reset()
	after := heapAfterGC()
	t.Logf("heap %d B after 20 plugins, %d B after 300 more", before, after)
	if after > before+128<<10 {
		t.Errorf("300 plugins with a shared cache grew the heap by %d B", after-before)
	}

	// The documented exception: WithHostFunctionSpans needs a listener on
	// host modules, and wazero keeps code for it as long as the cache lives.
	h = newHarness(t, observe.WithHostFunctionSpans("*"))
	create(20)
	reset()
	before = heapAfterGC()
	create(100)
	reset()
	after = heapAfterGC()
	t.Logf("with WithHostFunctionSpans: %d B of heap per plugin created, kept by the cache", (int(after)-int(before))/100)
}

// Item 4: a function listener factory the app put in the ctx keeps
// working beside the Observer's.
func TestAppListenerFactoryIsKept(t *testing.T) {
	h := newHarness(t)
	var buf bytes.Buffer
	ctx := experimental.WithFunctionListenerFactory(context.Background(), logging.NewHostLoggingListenerFactory(&buf, logging.LogScopeAll))
	p, err := extism.NewPlugin(h.obs.Context(ctx), manifest(t, "cguest.wasm"), extism.PluginConfig{EnableWasi: true}, h.obs.HostFunctions())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(context.Background())
	req := h.request(func(ctx context.Context) { call(t, p, ctx, "run") })
	if got := h.tree(req.TraceID()); !slices.Contains(got, "request > run > handle_request") {
		t.Errorf("tree %q: the Observer saw nothing", got)
	}
	if !strings.Contains(buf.String(), "dylibso:observe/api.span-enter") {
		t.Errorf("the app's listener logged no host call:\n%s", buf.String())
	}
}

// Item 5: the SDK's own observe-sdk integration gets nothing beside the
// Observer; creating a plugin with both says so.
func TestObserveAdapterIsReported(t *testing.T) {
	h := newHarness(t)
	adapter := observesdk.NewStdoutAdapter()
	adapter.Start(context.Background())
	defer adapter.Stop(true)
	cfg := extism.PluginConfig{EnableWasi: true, ObserveAdapter: adapter.AdapterBase}
	p, err := extism.NewPlugin(h.obs.Context(context.Background()), manifest(t, "cguest.wasm"), cfg, h.obs.HostFunctions())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(context.Background())
	call(t, p, context.Background(), "run")
	call(t, p, context.Background(), "run")
	var n int
	for _, l := range h.logLines() {
		if l["level"] == "error" && strings.Contains(l["message"].(string), "ObserveAdapter") {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d error lines about ObserveAdapter, want 1: %v", n, h.logLines())
	}
}

// failedCall is one way a call fails, as the span, the log and the error
// show it.
type failedCall struct {
	name      string
	run       func(t *testing.T, h *harness, ctx context.Context) error
	errorType string
	exitCode  any // extism.exit_code, or nil for none
	status    string
}

// Items 6 and 7: each way a call fails has its error.type, an exit code
// only when the guest exited, a one-line status, its wasm stack trace on
// the exception event, and one warn line.
func TestFailedCallsSayHowTheyFailed(t *testing.T) {
	spin := func(timeout uint64, cfg extism.PluginConfig, cancelAfter time.Duration) func(*testing.T, *harness, context.Context) error {
		return func(t *testing.T, h *harness, ctx context.Context) error {
			m := manifest(t, "hostile.wasm")
			m.Timeout = timeout
			p, err := extism.NewPlugin(h.obs.Context(context.Background()), m, cfg, h.obs.HostFunctions())
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close(context.Background())
			if cancelAfter > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithCancel(ctx)
				defer cancel()
				time.AfterFunc(cancelAfter, cancel)
			}
			_, _, err = p.CallWithContext(ctx, "spin", nil)
			return err
		}
	}
	sdkCall := func(plugin, fn string, config map[string]string, fns ...extism.HostFunction) func(*testing.T, *harness, context.Context) error {
		return func(t *testing.T, h *harness, ctx context.Context) error {
			m := sdkManifest(t, plugin)
			m.Config = config
			p, err := extism.NewPlugin(h.obs.Context(context.Background()), m, extism.PluginConfig{EnableWasi: true},
				append(h.obs.HostFunctions(), fns...))
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close(context.Background())
			_, _, err = p.CallWithContext(ctx, fn, nil)
			return err
		}
	}
	panicking := extism.NewHostFunctionWithStack("mult", func(context.Context, *extism.CurrentPlugin, []uint64) {
		panic(errors.New("the app's host function failed"))
	}, []extism.ValueType{extism.ValueTypePTR, extism.ValueTypePTR}, []extism.ValueType{extism.ValueTypePTR})
	panicking.SetNamespace("extism:host/user")

	for _, tc := range []failedCall{
		{name: "trap", errorType: "trap", status: "wasm error: unreachable",
			run: func(t *testing.T, h *harness, ctx context.Context) error {
				_, _, err := h.plugin("hostile.wasm", false).CallWithContext(ctx, "trap_unreachable", nil)
				return err
			}},
		{name: "manifest timeout", errorType: "timeout", status: "plugin call timed out",
			run: spin(50, extism.PluginConfig{}, 0)},
		{name: "cancelled", errorType: "cancelled", status: "plugin call cancelled",
			run: spin(0, extism.PluginConfig{RuntimeConfig: wazeroCloseOnDone()}, 50*time.Millisecond)},
		{name: "proc_exit(-1)", errorType: "exit", exitCode: int64(4294967295), status: "plugin exited with code 4294967295",
			run: sdkCall("exit.wasm", "_start", map[string]string{"code": "-1"})},
		{name: "proc_exit(500)", errorType: "exit", exitCode: int64(500), status: "plugin exited with code 500",
			run: sdkCall("exit.wasm", "_start", map[string]string{"code": "500"})},
		{name: "non-zero return", errorType: "return", status: "plugin returned 1: Some error message",
			run: sdkCall("fail.wasm", "run_test", nil)},
		{name: "host function panics", errorType: "host_function", status: "the app's host function failed (recovered by wazero)",
			run: sdkCall("host.wasm", "run_test", nil, panicking)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			var callErr error
			req := h.request(func(ctx context.Context) { callErr = tc.run(t, h, ctx) })
			if callErr == nil {
				t.Fatal("the call did not fail")
			}
			var cs sdktrace.ReadOnlySpan
			for _, s := range h.rec.Ended() {
				if s.SpanContext().TraceID() == req.TraceID() && s.Parent().SpanID() != (trace.SpanID{}) && s.Name() != "request" {
					if p := s.Parent(); p.SpanID() == req.SpanID() {
						cs = s
					}
				}
			}
			if cs == nil {
				t.Fatalf("no call span: %q", h.tree(req.TraceID()))
			}
			a := attrs(cs)
			if a["error.type"] != tc.errorType {
				t.Errorf("error.type %v, want %q", a["error.type"], tc.errorType)
			}
			if a["extism.exit_code"] != tc.exitCode || a["process.exit.code"] != tc.exitCode {
				t.Errorf("extism.exit_code %v, process.exit.code %v, want %v", a["extism.exit_code"], a["process.exit.code"], tc.exitCode)
			}
			if st := cs.Status(); st.Code != codes.Error || st.Description != tc.status {
				t.Errorf("status %+v, want Error %q", st, tc.status)
			}
			if strings.Contains(cs.Status().Description, "\n") {
				t.Errorf("multi-line status %q", cs.Status().Description)
			}
			var exception map[string]any
			for _, e := range cs.Events() {
				if e.Name == "exception" {
					exception = map[string]any{}
					for _, kv := range e.Attributes {
						exception[string(kv.Key)] = kv.Value.AsInterface()
					}
				}
			}
			switch {
			case tc.errorType == "return":
				if exception != nil {
					t.Errorf("an exception event for a returned code: %v", exception)
				}
			case exception == nil:
				t.Errorf("no exception event: %v", cs.Events())
			case strings.Contains(exception["exception.message"].(string), "\n"):
				t.Errorf("multi-line exception.message %q", exception["exception.message"])
			case tc.errorType == "trap" && !strings.HasPrefix(exception["exception.stacktrace"].(string), "wasm stack trace:\n"):
				t.Errorf("exception.stacktrace %q lacks the wasm stack", exception["exception.stacktrace"])
			}
			var lines []map[string]any
			for _, l := range h.logLines() {
				if l["message"] == "observe: plugin call failed" {
					lines = append(lines, l)
				}
			}
			if len(lines) != 1 {
				t.Fatalf("%d failure lines, want 1: %v", len(lines), h.logLines())
			}
			if l := lines[0]; l["level"] != "warn" || l["error.type"] != tc.errorType || l["trace_id"] != req.TraceID().String() {
				t.Errorf("failure line %v", l)
			}
			// hostile.wasm's trap and endless loop leave spans open; the
			// others open none.
			if _, ok := lines[0]["open_spans_ended"]; ok && !strings.HasPrefix(tc.name, "trap") && tc.errorType != "timeout" && tc.errorType != "cancelled" {
				t.Errorf("open_spans_ended on a call that left none open: %v", lines[0])
			}
		})
	}
}

// Item 8: the guest runtime's initialisation that Extism runs before the
// first call of an instance is inside that call's span: one CallWithContext,
// one span under the caller.
func TestRuntimeInitIsInsideTheCall(t *testing.T) {
	h := newHarness(t, observe.WithMinDuration(0))
	p := h.plugin("goguest.wasm", true)
	req := h.request(func(ctx context.Context) { call(t, p, ctx, "run") })
	var top []string
	for _, s := range h.rec.Ended() {
		if s.SpanContext().TraceID() == req.TraceID() && s.Parent().SpanID() == req.SpanID() {
			top = append(top, s.Name())
		}
	}
	if !slices.Equal(top, []string{"run"}) {
		t.Fatalf("spans under the caller %q, want the call's alone", top)
	}
	spans := h.spans(req.TraceID())
	init, run := spans["_initialize"], spans["run"]
	if init == nil || init.Parent().SpanID() != run.SpanContext().SpanID() {
		t.Fatalf("_initialize is not in the call span: %q", h.tree(req.TraceID()))
	}
	if run.StartTime().After(init.StartTime()) || attrs(run)["extism.function"] != "run" {
		t.Errorf("the call span starts %v after its initialisation, attributes %v", run.StartTime().Sub(init.StartTime()), attrs(run))
	}
	// An app that runs _initialize itself gets it as a call of its own.
	p2 := h.plugin("goguest.wasm", true)
	req = h.request(func(ctx context.Context) { call(t, p2, ctx, "_initialize") })
	if got := h.tree(req.TraceID()); !slices.Equal(got, []string{"request", "request > _initialize"}) {
		t.Errorf("explicit _initialize: %q", got)
	}
}

func BenchmarkCreatePluginSharedCache(b *testing.B) {
	h := newHarness(b)
	m := manifest(b, "cguest.wasm")
	for _, observed := range []bool{false, true} {
		name := "unobserved"
		if observed {
			name = "observed"
		}
		b.Run(name, func(b *testing.B) {
			cache := wazero.NewCompilationCache()
			defer cache.Close(context.Background())
			b.ReportAllocs()
			for b.Loop() {
				ctx := context.Background()
				if observed {
					ctx = h.obs.Context(ctx)
				}
				cfg := extism.PluginConfig{EnableWasi: true, RuntimeConfig: wazero.NewRuntimeConfig().WithCompilationCache(cache)}
				p, err := extism.NewPlugin(ctx, m, cfg, h.obs.HostFunctions())
				if err != nil {
					b.Fatal(err)
				}
				p.Close(context.Background())
			}
		})
	}
}
