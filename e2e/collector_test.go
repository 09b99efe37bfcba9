package e2e_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/extism-observe/observe/internal/testutil"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Bounds on the Collector's life, so that a test never hangs on it.
const (
	collectorStartTimeout = 30 * time.Second
	collectorStopTimeout  = 20 * time.Second
)

// collectorBinary returns the path of the Collector built by build.sh, or
// skips the test when there is none.
func collectorBinary(t *testing.T) string {
	t.Helper()
	path := os.Getenv("OBSERVE_OTELCOL")
	if path == "" {
		path = filepath.Join("bin", "otelcol")
	}
	if _, err := os.Stat(path); err != nil {
		t.Skip("the Collector is not built: run e2e/build.sh")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

// collector is an OpenTelemetry Collector running as a subprocess: the OTLP
// receiver on two loopback ports, and a file exporter per signal writing
// OTLP JSON, one export request a line, into a temporary directory.
type collector struct {
	GRPCAddr string // host:port of the OTLP/gRPC receiver
	HTTPAddr string // host:port of the OTLP/HTTP receiver

	dir  string
	cmd  *exec.Cmd
	out  *testutil.Buffer // the Collector's log (stderr and stdout)
	done chan struct{}    // closed when the process has exited
	err  error            // how it exited, once done is closed

	stopOnce sync.Once
	log      []collectorLogLine // its log, parsed, once stopped
}

// collectorLogLine is a line of the Collector's own log (JSON encoding).
type collectorLogLine struct {
	Level string `json:"level"`
	Msg   string `json:"msg"`
	Raw   string `json:"-"`
}

// startCollector starts a Collector and waits until both receiver ports
// accept connections. It is killed when the test ends, if not stopped
// before.
func startCollector(t *testing.T) *collector {
	t.Helper()
	bin := collectorBinary(t)
	c := &collector{
		GRPCAddr: freeAddr(t),
		HTTPAddr: freeAddr(t),
		dir:      t.TempDir(),
		out:      &testutil.Buffer{},
		done:     make(chan struct{}),
	}
	cfgPath := filepath.Join(c.dir, "config.yaml")
	if err := os.WriteFile(cfgPath, []byte(c.config()), 0o644); err != nil {
		t.Fatal(err)
	}
	c.cmd = exec.Command(bin, "--config", "file:"+cfgPath)
	c.cmd.Stdout = c.out
	c.cmd.Stderr = c.out
	if err := c.cmd.Start(); err != nil {
		t.Fatalf("starting the Collector: %v", err)
	}
	go func() {
		c.err = c.cmd.Wait()
		close(c.done)
	}()
	t.Cleanup(func() {
		select {
		case <-c.done:
		default:
			_ = c.cmd.Process.Kill()
			<-c.done
		}
		if t.Failed() {
			t.Logf("Collector log:\n%s", c.out.String())
		}
	})

	deadline := time.Now().Add(collectorStartTimeout)
	for _, addr := range []string{c.GRPCAddr, c.HTTPAddr} {
		for {
			conn, err := net.DialTimeout("tcp", addr, time.Second)
			if err == nil {
				conn.Close()
				break
			}
			select {
			case <-c.done:
				t.Fatalf("the Collector exited before listening on %s (%v):\n%s", addr, c.err, c.out.String())
			case <-time.After(20 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				t.Fatalf("the Collector is not listening on %s after %v:\n%s", addr, collectorStartTimeout, c.out.String())
			}
		}
	}
	return c
}

// config is the Collector's configuration. The Collector's own telemetry
// is off (metrics level none: no Prometheus port of its own), and its log is
// JSON, so that the tests can read the levels.
func (c *collector) config() string {
	var b strings.Builder
	fmt.Fprintf(&b, `receivers:
  otlp:
    protocols:
      grpc:
        endpoint: %s
      http:
        endpoint: %s
exporters:
`, c.GRPCAddr, c.HTTPAddr)
	for _, sig := range []string{"traces", "metrics", "logs"} {
		fmt.Fprintf(&b, `  file/%s:
    path: %s
    format: json
    flush_interval: 100ms
`, sig, strconv.Quote(c.file(sig)))
	}
	b.WriteString(`service:
  telemetry:
    logs:
      level: info
      encoding: json
    metrics:
      level: none
  pipelines:
`)
	for _, sig := range []string{"traces", "metrics", "logs"} {
		fmt.Fprintf(&b, `    %s:
      receivers: [otlp]
      exporters: [file/%s]
`, sig, sig)
	}
	return b.String()
}

func (c *collector) file(signal string) string {
	return filepath.Join(c.dir, signal+".jsonl")
}

// stop shuts the Collector down as an operator would (SIGTERM), so that
// the file exporters flush and close their files, and returns its log. A
// Collector that does not stop in time is killed and the test fails.
func (c *collector) stop(t *testing.T) []collectorLogLine {
	t.Helper()
	c.stopOnce.Do(func() {
		_ = c.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-c.done:
			if c.err != nil {
				t.Errorf("the Collector exited with %v", c.err)
			}
		case <-time.After(collectorStopTimeout):
			_ = c.cmd.Process.Kill()
			<-c.done
			t.Errorf("the Collector did not stop within %v of SIGTERM: killed", collectorStopTimeout)
		}
		c.log = parseCollectorLog(c.out.String())
	})
	return c.log
}

func parseCollectorLog(s string) []collectorLogLine {
	var lines []collectorLogLine
	sc := bufio.NewScanner(strings.NewReader(s))
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		raw := sc.Text()
		if strings.TrimSpace(raw) == "" {
			continue
		}
		l := collectorLogLine{Raw: raw}
		if err := json.Unmarshal([]byte(raw), &l); err != nil {
			l.Level = "unparsed" // not zap's JSON: a panic, say
		}
		lines = append(lines, l)
	}
	return lines
}

// checkNoCollectorComplaints fails the test on every line of the
// Collector's log above info: the data the library sends must be taken
// without a warning.
func checkNoCollectorComplaints(t *testing.T, log []collectorLogLine) {
	t.Helper()
	for _, l := range log {
		switch l.Level {
		case "debug", "info":
		default:
			t.Errorf("the Collector logged at %s: %s", l.Level, l.Raw)
		}
	}
}

// jsonLines returns the lines of the exporter's file for signal.
func (c *collector) jsonLines(t *testing.T, signal string) [][]byte {
	t.Helper()
	b, err := os.ReadFile(c.file(signal))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var lines [][]byte
	for l := range bytes.Lines(b) {
		if l = bytes.TrimSpace(l); len(l) > 0 {
			lines = append(lines, l)
		}
	}
	return lines
}

// traces returns what the Collector wrote for traces, every export
// request merged into one.
func (c *collector) traces(t *testing.T) ptrace.Traces {
	t.Helper()
	all := ptrace.NewTraces()
	var u ptrace.JSONUnmarshaler
	for i, l := range c.jsonLines(t, "traces") {
		td, err := u.UnmarshalTraces(l)
		if err != nil {
			t.Fatalf("traces line %d: %v: %s", i+1, err, l)
		}
		td.ResourceSpans().MoveAndAppendTo(all.ResourceSpans())
	}
	return all
}

func (c *collector) metrics(t *testing.T) pmetric.Metrics {
	t.Helper()
	all := pmetric.NewMetrics()
	var u pmetric.JSONUnmarshaler
	for i, l := range c.jsonLines(t, "metrics") {
		md, err := u.UnmarshalMetrics(l)
		if err != nil {
			t.Fatalf("metrics line %d: %v: %s", i+1, err, l)
		}
		md.ResourceMetrics().MoveAndAppendTo(all.ResourceMetrics())
	}
	return all
}

func (c *collector) logs(t *testing.T) plog.Logs {
	t.Helper()
	all := plog.NewLogs()
	var u plog.JSONUnmarshaler
	for i, l := range c.jsonLines(t, "logs") {
		ld, err := u.UnmarshalLogs(l)
		if err != nil {
			t.Fatalf("logs line %d: %v: %s", i+1, err, l)
		}
		ld.ResourceLogs().MoveAndAppendTo(all.ResourceLogs())
	}
	return all
}

// freeAddr returns a loopback address with a port that was free a moment
// ago: the kernel's pick for a listener that is closed at once.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

// withTimeout is a ctx for one step of a test, bounded.
func withTimeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
