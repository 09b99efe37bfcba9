package observe_test

import (
	"context"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"

	extism "github.com/extism/go-sdk"
	"github.com/rs/zerolog"
	"github.com/tetratelabs/wazero"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/extism-observe/observe"
)

// namedPlugin creates a plugin of testdata/file with the harness's
// Observer, named by opts.
func (h *harness) namedPlugin(file string, cfg extism.PluginConfig, opts ...observe.ContextOption) *extism.Plugin {
	h.t.Helper()
	p, err := extism.NewPlugin(h.obs.Context(context.Background(), opts...), manifest(h.t, file), cfg, h.obs.HostFunctions())
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { p.Close(context.Background()) })
	return p
}

// Every plugin call is measured: its duration by export and outcome, the
// calls in flight, and the guest's memory, each with the plugin's name,
// and in the ctx of the call span, so that exemplars point at the trace.
func TestCallMetrics(t *testing.T) {
	h := newHarness(t)
	p := h.namedPlugin("cguest.wasm", extism.PluginConfig{}, observe.PluginName("checkout"))
	var reqs []string
	for _, fn := range []string{"run", "run", "trap"} {
		req := h.request(func(ctx context.Context) { _, _, _ = p.CallWithContext(ctx, fn, nil) })
		reqs = append(reqs, req.TraceID().String())
	}
	if got := attrs(h.spans(h.rec.Ended()[0].SpanContext().TraceID())["run"])["extism.plugin.name"]; got != "checkout" {
		t.Errorf("call span extism.plugin.name = %v", got)
	}
	m := h.metrics()

	d, ok := m["extism.call.duration"]
	if !ok || d.Unit != "s" {
		t.Fatalf("extism.call.duration: %+v", d)
	}
	points := map[attribute.Distinct]metricdata.HistogramDataPoint[float64]{}
	for _, dp := range d.Data.(metricdata.Histogram[float64]).DataPoints {
		points[dp.Attributes.Equivalent()] = dp
	}
	ok1 := attrSet(attribute.String("extism.plugin.name", "checkout"), attribute.String("extism.function", "run"))
	failed := attrSet(attribute.String("extism.plugin.name", "checkout"), attribute.String("extism.function", "trap"),
		attribute.String("error.type", "trap"))
	if len(points) != 2 || points[ok1.Equivalent()].Count != 2 || points[failed.Equivalent()].Count != 1 {
		t.Fatalf("extism.call.duration points %+v, want 2 calls of run and 1 failed trap", points)
	}
	dp := points[ok1.Equivalent()]
	if min, ok := dp.Min.Value(); dp.Sum <= 0 || !ok || min <= 0 {
		t.Errorf("durations %+v", dp)
	}
	if want := []float64{0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}; !slices.Equal(dp.Bounds, want) {
		t.Errorf("bucket boundaries %v", dp.Bounds)
	}
	for _, dp := range points {
		if len(dp.Exemplars) == 0 {
			t.Errorf("no exemplar on %v", dp.Attributes)
			continue
		}
		if tid := traceIDOf(dp.Exemplars[0].TraceID); !slices.Contains(reqs, tid) {
			t.Errorf("exemplar trace %s is none of the calls' %v", tid, reqs)
		}
	}

	plugin := attrSet(attribute.String("extism.plugin.name", "checkout"))
	active := m["extism.call.active"].Data.(metricdata.Sum[int64])
	if active.IsMonotonic || len(active.DataPoints) != 1 || active.DataPoints[0].Value != 0 ||
		!active.DataPoints[0].Attributes.Equals(&plugin) {
		t.Errorf("extism.call.active %+v, want 0 in flight for checkout", active)
	}
	mem := m["extism.memory.usage"]
	g := mem.Data.(metricdata.Gauge[int64])
	if mem.Unit != "By" || len(g.DataPoints) != 1 || g.DataPoints[0].Value <= 0 || g.DataPoints[0].Value%65536 != 0 ||
		!g.DataPoints[0].Attributes.Equals(&plugin) {
		t.Errorf("extism.memory.usage %+v, want whole pages for checkout", mem)
	}
}

func traceIDOf(b []byte) string {
	const hex = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, x := range b {
		out = append(out, hex[x>>4], hex[x&15])
	}
	return string(out)
}

// pluginNames returns the extism.plugin.name of every call span recorded.
func (h *harness) pluginNames() []string {
	var out []string
	for _, s := range h.rec.Ended() {
		if n, ok := attrs(s)["extism.plugin.name"].(string); ok {
			out = append(out, n)
		}
	}
	return out
}

// A plugin's name defaults to one made from its module, the same for every
// plugin and instance of the same bytes; PluginName overrides it, also for
// CompiledPlugin instances and with a shared compilation cache.
func TestPluginNames(t *testing.T) {
	h := newHarness(t)
	for range 2 {
		call(t, h.namedPlugin("cguest.wasm", extism.PluginConfig{}), context.Background(), "run")
	}
	names := h.pluginNames()
	if len(names) != 2 || names[0] != names[1] || !regexp.MustCompile(`^wasm-[0-9a-f]{12}$`).MatchString(names[0]) {
		t.Errorf("default names %q, want one stable wasm-<hex>", names)
	}

	h = newHarness(t)
	cache := wazero.NewCompilationCache()
	defer cache.Close(context.Background())
	for _, name := range []string{"first", "second"} {
		cp, err := extism.NewCompiledPlugin(h.obs.Context(context.Background(), observe.PluginName(name)),
			manifest(t, "cguest.wasm"), extism.PluginConfig{RuntimeConfig: wazero.NewRuntimeConfig().WithCompilationCache(cache)},
			h.obs.HostFunctions())
		if err != nil {
			t.Fatal(err)
		}
		defer cp.Close(context.Background())
		for range 2 {
			p, err := cp.Instance(context.Background(), extism.PluginInstanceConfig{})
			if err != nil {
				t.Fatal(err)
			}
			call(t, p, context.Background(), "run")
			p.Close(context.Background())
		}
	}
	if got := h.pluginNames(); !slices.Equal(got, []string{"first", "first", "second", "second"}) {
		t.Errorf("names %q, want each CompiledPlugin's for its instances", got)
	}
}

// With OpenTelemetry's global MeterProvider, the call metrics measure
// nothing until an SDK is set, and a call that began before it was set is
// not uncounted from extism.call.active at its end. The global provider
// is set once per process, so the test runs itself in a process of its own.
func TestCallMetricsGlobalMeterProvider(t *testing.T) {
	if !inOwnProcess(t) {
		return
	}
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	obs := observe.New(observe.WithLogger(zerolog.Nop())) // the global MeterProvider
	// The app sets up OpenTelemetry in the middle of the first call.
	setUp := extism.NewHostFunctionWithStack("app_work", func(context.Context, *extism.CurrentPlugin, []uint64) {
		if otel.GetMeterProvider() != mp {
			otel.SetMeterProvider(mp)
		}
	}, nil, nil)
	p, err := extism.NewPlugin(obs.Context(context.Background()), manifest(t, "hostcall.wasm"), extism.PluginConfig{},
		append(obs.HostFunctions(), setUp))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close(context.Background()) })
	for range 2 {
		if rc, _, err := p.Call("run", nil); rc != 0 || err != nil {
			t.Fatalf("rc=%d err=%v", rc, err)
		}
	}
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	got := map[string]metricdata.Metrics{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			got[m.Name] = m
		}
	}
	if d, ok := got["extism.call.duration"].Data.(metricdata.Histogram[float64]); !ok || len(d.DataPoints) != 1 || d.DataPoints[0].Count != 1 {
		t.Errorf("extism.call.duration %+v, want the second call only", got["extism.call.duration"])
	}
	if a, ok := got["extism.call.active"].Data.(metricdata.Sum[int64]); !ok || len(a.DataPoints) != 1 || a.DataPoints[0].Value != 0 {
		t.Errorf("extism.call.active %+v, want 0: the first call was never counted", got["extism.call.active"])
	}
}

// inOwnProcess runs test t again in a process of its own, for a test that
// sets OpenTelemetry's global providers (which are set once per process),
// and reports whether it is that process. In the parent it returns false
// once the child has passed, and fails t if it did not.
func inOwnProcess(t *testing.T) bool {
	t.Helper()
	const env = "OBSERVE_TEST_OWN_PROCESS"
	if os.Getenv(env) == t.Name() {
		return true
	}
	cmd := exec.Command(os.Args[0], "-test.run=^"+t.Name()+"$", "-test.v")
	cmd.Env = append(os.Environ(), env+"="+t.Name())
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "--- PASS") {
		t.Fatalf("%v\n%s", err, out)
	}
	return false
}
