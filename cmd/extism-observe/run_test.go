package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRunDemo(t *testing.T) {
	t.Parallel()
	r := runCmd(t, "run", "-log-level", "debug", guest("demo.wasm"))
	r.wantCode(t, exitOK)

	if first, _, _ := strings.Cut(r.stdout, "\n"); first != "order 1042: 3 items, total 59.97" {
		t.Errorf("first line %q, want the guest's summary", first)
	}
	wantLines(t, "trace outline", outline(t, r.stdout), []string{
		"span 0 extism-observe run",
		"span 1 _start",
		"span 2 handle_order",
		"event info  handling order 1042 for customer c-7",
		"span 3 validate",
		"span 4 load_inventory",
		"span 3 price",
		"event debug subtotal 59.97, discount 0.00 (tier gold)",
		"span 3 charge",
		"event warn  card retry",
		"span 4 payment_gateway",
		"event info  order 1042 charged 59.97",
	})
	wantContains(t, "root line", spanLine(t, r.stdout, callerSpanName),
		"plugin.export=_start", "plugin.path="+guest("demo.wasm"))
	wantContains(t, "handle_order line", spanLine(t, r.stdout, "handle_order"),
		"order.id=1042", "customer.tier=gold")
	wantContains(t, "load_inventory line", spanLine(t, r.stdout, "load_inventory"),
		"db.system=sqlite", `db.statement="SELECT stock FROM inventory WHERE sku = ?"`)
	wantContains(t, "payment_gateway line", spanLine(t, r.stdout, "payment_gateway"),
		"http.url=https://pay.example.com/v1/charges")

	metrics := metricLines(r.stdout)
	if len(metrics) != 6 {
		t.Fatalf("metric lines %q, want 6", metrics)
	}
	// The call metrics first (the observer's meter), then the guest's; the
	// plugin is named after its file. A WASI command that exits leaves no
	// memory to measure: no extism.memory.usage.
	want := []string{
		"extism.call.duration histogram count=1 sum=",
		"extism.call.active updowncounter 0 {call} extism.plugin.name=demo",
		"orders.processed counter 1 tier=gold",
		"order.total gauge 59.97",
		"checkout.latency histogram count=1 sum=",
		"items.per_order histogram count=1 sum=3 min=3 max=3",
	}
	for i, w := range want {
		if !strings.HasPrefix(metrics[i], w) {
			t.Errorf("metric line %d = %q, want it to start with %q", i, metrics[i], w)
		}
	}
	if !strings.HasSuffix(metrics[4], " ms tier=gold") {
		t.Errorf("checkout.latency line %q: want unit ms and tier=gold", metrics[4])
	}
	if !strings.HasSuffix(metrics[0], " s extism.function=_start extism.plugin.name=demo") {
		t.Errorf("extism.call.duration line %q: want unit s, the export and the plugin's name", metrics[0])
	}
	wantContains(t, "call span line", spanLine(t, r.stdout, "_start"), "extism.plugin.name=demo")

	wantContains(t, "stderr", r.stderr,
		"INF handling order 1042 for customer c-7",
		"DBG subtotal 59.97",
		"WRN card retry",
		"INF order 1042 charged 59.97")
}

func TestRunLogLevelFiltersGuestLogs(t *testing.T) {
	t.Parallel()
	r := runCmd(t, "run", "-log-level", "warn", guest("cguest.wasm"), "run")
	r.wantCode(t, exitOK)
	// cguest logs at info, debug, error, warn and trace.
	wantContains(t, "stderr", r.stderr, "ERR ", "WRN ")
	for _, s := range []string{"INF ", "DBG ", "TRC "} {
		if strings.Contains(r.stderr, s) {
			t.Errorf("stderr has a %q log at -log-level warn:\n%s", s, r.stderr)
		}
	}
}

func TestRunInput(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "input")
	if err := os.WriteFile(file, []byte("2"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		flags []string
		want  int
	}{
		{"input", []string{"-input", "3"}, 3},
		{"input-file", []string{"-input-file", file}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			args := append([]string{"run", "-min-duration", "0"}, tc.flags...)
			r := runCmd(t, append(args, guest("cguest.wasm"), "spans")...)
			r.wantCode(t, exitOK)
			want := []string{"span 0 extism-observe run", "span 1 spans"}
			for range tc.want {
				want = append(want, "span 2 s")
			}
			wantLines(t, "trace outline", outline(t, r.stdout), want)
		})
	}
}

func TestRunFlagsAfterArguments(t *testing.T) {
	t.Parallel()
	r := runCmd(t, "run", guest("cguest.wasm"), "spans", "-input", "1")
	r.wantCode(t, exitOK)
	wantLines(t, "trace outline", outline(t, r.stdout),
		[]string{"span 0 extism-observe run", "span 1 spans", "span 2 s"})
}

func TestRunFunctionSpans(t *testing.T) {
	t.Parallel()
	r := runCmd(t, "run", "-function-spans", "outer,inner", "-function-spans", "middle",
		"-min-duration", "0", guest("plain.wasm"))
	r.wantCode(t, exitOK)
	wantLines(t, "trace outline", outline(t, r.stdout), []string{
		"span 0 extism-observe run",
		"span 1 run",
		"span 2 outer",
		"span 3 middle",
		"span 4 inner",
		"event info  in inner",
		"span 4 inner",
		"event info  in inner",
	})
}

func TestRunInstrumented(t *testing.T) {
	t.Parallel()
	r := runCmd(t, "run", "-min-duration", "0", guest("instrumented.wasm"), "run")
	r.wantCode(t, exitOK)
	wantLines(t, "trace outline", outline(t, r.stdout), []string{
		"span 0 extism-observe run",
		"span 1 run",
		"span 2 _initialize",
		"span 3 init",
		"span 2 run",
		"span 3 demo::a",
		"span 4 demo::b",
		"span 5 c(int)",
		"span 6 d",
		"span 3 mixed",
		"event info  in mixed",
		"span 4 manual.in.mixed",
		"event info  in manual",
		"span 3 grow",
		"event memory.grow wasm.memory.grow.bytes=131072 wasm.memory.grow.pages=2",
		"span 3 short",
		"span 3 long",
		"span 3 short",
	})
	wantContains(t, "metrics", r.stdout, "\nmixed.count counter 1\n")
}

func TestRunGuestFailures(t *testing.T) {
	t.Parallel()
	t.Run("trap", func(t *testing.T) {
		t.Parallel()
		r := runCmd(t, "run", guest("cguest.wasm"), "trap")
		r.wantCode(t, exitGuest)
		wantLines(t, "trace outline", outline(t, r.stdout)[:4], []string{
			"span 0 extism-observe run",
			"span 1 trap",
			"span 2 outer",
			"span 3 inner",
		})
		wantContains(t, "root line", spanLine(t, r.stdout, callerSpanName),
			`ERROR "calling trap: wasm error: unreachable"`)
		wantContains(t, "call span line", spanLine(t, r.stdout, "trap"), "ERROR")
		wantContains(t, "inner line", spanLine(t, r.stdout, "inner"), "ERROR")
		wantContains(t, "stderr", r.stderr, "extism-observe: "+guest("cguest.wasm")+": calling trap: wasm error: unreachable")
	})
	t.Run("return", func(t *testing.T) {
		t.Parallel()
		r := runCmd(t, "run", guest("cguest.wasm"), "fail")
		r.wantCode(t, exitGuest)
		wantContains(t, "root line", spanLine(t, r.stdout, callerSpanName), `ERROR "fail returned 1"`)
		wantContains(t, "stderr", r.stderr, "fail returned 1")
	})
	t.Run("exit code", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "exit3.wasm")
		if err := os.WriteFile(path, exit3Wasm, 0o600); err != nil {
			t.Fatal(err)
		}
		r := runCmd(t, "run", path)
		r.wantCode(t, exitGuest)
		wantContains(t, "call span line", spanLine(t, r.stdout, "_start"), "extism.exit_code=3", "ERROR")
		wantContains(t, "stderr", r.stderr, "_start exited with code 3")
	})
	t.Run("timeout", func(t *testing.T) {
		t.Parallel()
		// run's busy loop takes 25ms without a deadline to check, far
		// longer with one.
		r := runCmd(t, "run", "-timeout", "1ms", guest("instrumented.wasm"), "run")
		r.wantCode(t, exitGuest)
		wantContains(t, "root line", spanLine(t, r.stdout, callerSpanName), `ERROR "run timed out after 1ms (-timeout)"`)
		wantContains(t, "stderr", r.stderr, "run timed out after 1ms")
	})
}

// exit3Wasm is a WASI command whose _start calls proc_exit(3):
//
//	(module
//	  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
//	  (func (export "_start") (call $exit (i32.const 3))))
var exit3Wasm = []byte{
	0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
	// types: (i32) -> (), () -> ()
	0x01, 0x08, 0x02, 0x60, 0x01, 0x7f, 0x00, 0x60, 0x00, 0x00,
	// import wasi_snapshot_preview1.proc_exit, type 0
	0x02, 0x24, 0x01, 0x16,
	'w', 'a', 's', 'i', '_', 's', 'n', 'a', 'p', 's', 'h', 'o', 't', '_', 'p', 'r', 'e', 'v', 'i', 'e', 'w', '1',
	0x09, 'p', 'r', 'o', 'c', '_', 'e', 'x', 'i', 't', 0x00, 0x00,
	// one function of type 1
	0x03, 0x02, 0x01, 0x01,
	// export it as _start
	0x07, 0x0a, 0x01, 0x06, '_', 's', 't', 'a', 'r', 't', 0x00, 0x01,
	// its body: i32.const 3; call 0; end
	0x0a, 0x08, 0x01, 0x06, 0x00, 0x41, 0x03, 0x10, 0x00, 0x0b,
}

func TestRunSetupFailures(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	notWasm := filepath.Join(dir, "notes.wasm")
	if err := os.WriteFile(notWasm, []byte("hello, not a module\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	broken := filepath.Join(dir, "broken.wasm")
	if err := os.WriteFile(broken, exit3Wasm[:30], 0o600); err != nil {
		t.Fatal(err)
	}
	exit3 := filepath.Join(dir, "exit3.wasm")
	if err := os.WriteFile(exit3, exit3Wasm, 0o600); err != nil {
		t.Fatal(err)
	}
	const cguestExports = "bad_memory, bad_metrics, burst, fail, leave_open, metrics, run, spans, trap"
	for _, tc := range []struct {
		name   string
		args   []string
		stderr []string
	}{
		{"missing file", []string{"run", filepath.Join(dir, "nope.wasm")},
			[]string{"reading the plugin", "no such file or directory"}},
		{"not wasm", []string{"run", notWasm},
			[]string{notWasm + " is not a WebAssembly module"}},
		{"wat", []string{"run", guest("plain.wat")},
			[]string{"is not a WebAssembly module", "wat2wasm"}},
		{"does not compile", []string{"run", broken},
			[]string{broken + ": cannot load the plugin"}},
		{"missing export", []string{"run", guest("cguest.wasm"), "nope"},
			[]string{`has no exported function "nope"`, cguestExports}},
		{"several exports", []string{"run", guest("cguest.wasm")},
			[]string{"exports several functions", cguestExports}},
		{"wasi off", []string{"run", "-wasi=false", exit3},
			[]string{"wasi_snapshot_preview1", "leave -wasi on"}},
		{"missing input file", []string{"run", "-input-file", filepath.Join(dir, "nope"), guest("plain.wasm")},
			[]string{"reading -input-file"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := runCmd(t, tc.args...)
			r.wantCode(t, exitSetup)
			wantContains(t, "stderr", r.stderr, tc.stderr...)
			if r.stdout != "" {
				t.Errorf("stdout %q, want nothing: no call was made", r.stdout)
			}
		})
	}
}

func TestRunUsage(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stdout string // prefix
		stderr string // substring
	}{
		{"no command", nil, exitSetup, "", "Usage:"},
		{"unknown command", []string{"serve"}, exitSetup, "", `unknown command "serve"`},
		{"help", []string{"help"}, exitOK, "extism-observe runs", ""},
		{"help run", []string{"help", "run"}, exitOK, "Usage: extism-observe run", ""},
		{"run -h", []string{"run", "-h"}, exitOK, "Usage: extism-observe run", ""},
		{"no plugin", []string{"run"}, exitSetup, "", "missing PLUGIN.wasm"},
		{"unknown flag", []string{"run", "-nope", "x.wasm"}, exitSetup, "", "flag provided but not defined: -nope"},
		{"too many args", []string{"run", "a.wasm", "run", "extra"}, exitSetup, "", "too many arguments"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := runCmd(t, tc.args...)
			r.wantCode(t, tc.code)
			if !strings.HasPrefix(r.stdout, tc.stdout) {
				t.Errorf("stdout does not start with %q", tc.stdout)
			}
			if !strings.Contains(r.stderr, tc.stderr) {
				t.Errorf("stderr does not contain %q", tc.stderr)
			}
		})
	}
	r := runCmd(t, "run", "-h")
	wantContains(t, "run -h", r.stdout, "Examples:", "extism-observe run testdata/demo.wasm")
}

// -http-server: the guest's request through Extism's http_request reaches
// the runner's own server on loopback, and the trace shows both ends, the
// server's span under the guest's client span.
func TestRunHTTPServer(t *testing.T) {
	t.Parallel()
	r := runCmd(t, "run", "-http-server", guest("http.wasm"), "fetch")
	r.wantCode(t, exitOK)
	if !strings.HasPrefix(r.stdout, "hello from extism-observe's -http-server: GET /\n") {
		t.Errorf("output %q, want the server's answer first", r.stdout)
	}
	wantLines(t, "trace outline", outline(t, r.stdout), []string{
		"span 0 extism-observe run",
		"span 1 fetch",
		"event info  fetching the input URL",
		"span 2 GET",
		"span 3 GET", // the server span, GET /
	})
	wantContains(t, "client span line", spanLine(t, r.stdout, "GET"),
		"http.request.method=GET", "http.response.status_code=200", "server.address=127.0.0.1", "url.full=http://127.0.0.1:")
}

// -allow-host and -config reach the manifest: without an allowed host the
// guest's request is refused, and the trace says so.
func TestRunAllowHost(t *testing.T) {
	t.Parallel()
	r := runCmd(t, "run", "-input", "http://localhost:1/", guest("http.wasm"), "fetch")
	r.wantCode(t, exitGuest)
	wantContains(t, "refused request", spanLine(t, r.stdout, "HTTP"),
		"error.type=host_not_allowed", "url.full=http://localhost:1/")
	r = runCmd(t, "run", "-allow-host", "localhost", "-input", "http://localhost:1/", guest("http.wasm"), "fetch")
	r.wantCode(t, exitGuest)
	wantContains(t, "failed request", spanLine(t, r.stdout, "GET"), "error.type=_OTHER", "server.port=1")
}
