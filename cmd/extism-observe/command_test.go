package main

import (
	"bytes"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestCommand builds the real binary and runs it, to prove that main wires
// run to the process: output, and exit codes.
func TestCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command")
	}
	t.Parallel()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command:", err)
	}
	bin := filepath.Join(t.TempDir(), "extism-observe")
	build := exec.Command(goTool, "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	for _, tc := range []struct {
		name   string
		args   []string
		stdin  string
		code   int
		stdout []string
		stderr []string
	}{
		{
			name:   "demo",
			args:   []string{"run", guest("demo.wasm")},
			code:   0,
			stdout: []string{"order 1042: 3 items, total 59.97\ntrace ", "─ handle_order ", "─ payment_gateway ", "\nmetrics\n", "orders.processed counter 1 tier=gold"},
			stderr: []string{"WRN card retry"},
		},
		{
			name:   "trap",
			args:   []string{"run", guest("cguest.wasm"), "trap"},
			code:   1,
			stdout: []string{"─ inner "},
			stderr: []string{"calling trap: wasm error: unreachable"},
		},
		{
			name:   "stdin",
			args:   []string{"run", "-stdin", "-min-duration", "0", guest("cguest.wasm"), "spans"},
			stdin:  "2",
			code:   0,
			stdout: []string{"plugin.input_bytes=1 ", "\n   ├─ s ", "\n   └─ s "},
		},
		{
			name:   "missing export",
			args:   []string{"run", guest("cguest.wasm"), "nope"},
			code:   2,
			stderr: []string{`no exported function "nope"`},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			cmd := exec.Command(bin, tc.args...)
			cmd.Stdin, cmd.Stdout, cmd.Stderr = strings.NewReader(tc.stdin), &stdout, &stderr
			err := cmd.Run()
			code := 0
			var exit *exec.ExitError
			if errors.As(err, &exit) {
				code = exit.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tc.code {
				t.Errorf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.code, &stdout, &stderr)
			}
			wantContains(t, "stdout", stdout.String(), tc.stdout...)
			wantContains(t, "stderr", stderr.String(), tc.stderr...)
			if strings.Contains(stdout.String(), "\x1b[") {
				t.Error("colour written to a pipe")
			}
		})
	}
}
