package e2e_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/trace"
)

// cliBinary builds cmd/extism-observe once per test binary, with the
// repository's own go.mod (as users build it), into a directory removed by
// TestMain.
var cliBinary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "e2e-cli-")
	if err != nil {
		return "", err
	}
	tempDirs = append(tempDirs, dir)
	bin := filepath.Join(dir, "extism-observe")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/extism-observe")
	cmd.Dir = ".."
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", errors.New("go build ./cmd/extism-observe: " + err.Error() + "\n" + string(out))
	}
	return bin, nil
})

// tempDirs are removed when the tests end.
var tempDirs []string

func TestMain(m *testing.M) {
	code := m.Run()
	for _, d := range tempDirs {
		os.RemoveAll(d)
	}
	os.Exit(code)
}

// sentTrace is the line in which extism-observe says where the trace went.
var sentTrace = regexp.MustCompile(`extism-observe: trace ([0-9a-f]{32}) sent over (\S+) to (\S+)`)

// TestCLIOTLP runs `extism-observe run -exporter otlp` against a real
// Collector, over gRPC and over HTTP: the command succeeds, and the
// Collector has the whole trace, under the command's own span, with the
// demo's metrics and logs (info and above: the default -log-level).
func TestCLIOTLP(t *testing.T) {
	for _, tc := range []struct {
		name     string
		args     func(*collector) []string
		protocol string // as the command reports it
	}{
		{"grpc", func(c *collector) []string { return []string{"-endpoint", c.GRPCAddr, "-insecure"} }, "OTLP/gRPC"},
		{"http", func(c *collector) []string { return []string{"-protocol", "http", "-endpoint", "http://" + c.HTTPAddr} }, "OTLP/HTTP"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			col := startCollector(t)
			bin, err := cliBinary()
			if err != nil {
				t.Fatal(err)
			}
			args := append([]string{"run", "-exporter", "otlp"}, tc.args(col)...)
			args = append(args, demoWasm)
			ctx := withTimeout(t, 2*time.Minute)
			cmd := exec.CommandContext(ctx, bin, args...)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err = cmd.Run()
			t.Logf("extism-observe %q\nstdout:\n%s\nstderr:\n%s", args, stdout.String(), stderr.String())
			if err != nil {
				t.Fatalf("extism-observe: %v, want exit status 0", err)
			}
			if want := "order 1042: 3 items, total 59.97\n"; stdout.String() != want {
				t.Errorf("stdout %q, want %q", stdout.String(), want)
			}
			m := sentTrace.FindStringSubmatch(stderr.String())
			if m == nil || m[2] != tc.protocol {
				t.Fatalf("stderr does not say the trace was sent over %s", tc.protocol)
			}
			traceID, err := trace.TraceIDFromHex(m[1])
			if err != nil {
				t.Fatal(err)
			}

			checkNoCollectorComplaints(t, col.stop(t))
			got := collectTrace(t, col.traces(t))
			root := got.one(t, "extism-observe run")
			caller := trace.NewSpanContext(trace.SpanContextConfig{TraceID: traceID, SpanID: trace.SpanID(root.SpanID())})
			checkDemoTrace(t, got, caller, "extism-observe run", ptrace.SpanKindInternal,
				map[string]any{"plugin.path": demoWasm, "plugin.export": "_start"}, "demo", false)
			checkDemoMetrics(t, col.metrics(t), got, caller, "demo")
			checkDemoLogs(t, col.logs(t), got, caller, "demo", false)
		})
	}
}
