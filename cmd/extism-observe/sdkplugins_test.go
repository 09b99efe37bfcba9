package main

// Tests of the flags that extism call shares, on the Extism Go SDK's own
// test plugins, from the module cache: what each expects is in the SDK's
// extism_test.go.

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// sdkVersion is the Extism Go SDK of go.mod, whose wasm/ the tests run.
const sdkVersion = "v1.7.1"

var sdkDir = sync.OnceValue(func() string {
	if out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/extism/go-sdk").Output(); err == nil {
		if dir := strings.TrimSpace(string(out)); dir != "" {
			return dir
		}
	}
	cache := os.Getenv("GOMODCACHE")
	if cache == "" {
		if out, err := exec.Command("go", "env", "GOMODCACHE").Output(); err == nil {
			cache = strings.TrimSpace(string(out))
		}
	}
	if cache == "" {
		return ""
	}
	return filepath.Join(cache, "github.com", "extism", "go-sdk@"+sdkVersion)
})

// sdkPlugin returns the path of one of the SDK's test plugins, and skips
// the test when the SDK is not in the module cache.
func sdkPlugin(t *testing.T, name string) string {
	t.Helper()
	path := filepath.Join(sdkDir(), "wasm", name)
	if _, err := os.Stat(path); err != nil {
		t.Skipf("the Extism Go SDK's test plugin %s is not in the module cache (go mod download github.com/extism/go-sdk@%s): %v",
			name, sdkVersion, err)
	}
	return path
}

// copyFile copies the file at from into dir, and returns its new path.
func copyFile(t *testing.T, from, dir string) string {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	to := filepath.Join(dir, filepath.Base(from))
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return to
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// firstLine is the guest's output: what comes before the trace.
func firstLine(out string) string {
	line, _, _ := strings.Cut(out, "\n")
	return line
}

func TestRunSDKConfig(t *testing.T) {
	t.Parallel()
	wasm := sdkPlugin(t, "config.wasm")
	r := runCmd(t, "run", wasm, "run_test")
	r.wantCode(t, exitOK)
	if got := firstLine(r.stdout); got != `{"config": "<unset by host>"}` {
		t.Errorf("output %q without -config", got)
	}
	r = runCmd(t, "run", "-config", "thing=hello", wasm, "run_test")
	r.wantCode(t, exitOK)
	if got := firstLine(r.stdout); got != `{"config": "hello"}` {
		t.Errorf("output %q with -config thing=hello", got)
	}
}

// A TinyGo plugin exports _start beside its handlers: without an EXPORT
// the runner asks rather than running _start.
func TestRunSDKTinyGoExports(t *testing.T) {
	t.Parallel()
	r := runCmd(t, "run", sdkPlugin(t, "config.wasm"))
	r.wantCode(t, exitSetup)
	wantContains(t, "stderr", r.stderr, "exports several functions; name the one to run",
		"its exported functions: _start, run_test (and its runtime's: asyncify_get_state,")
	if r.stdout != "" {
		t.Errorf("stdout %q: nothing was to run", r.stdout)
	}
	// A command whose only export is _start still runs without one.
	r = runCmd(t, "run", "-i", "ben", sdkPlugin(t, "count_vowels_std.wasm"))
	r.wantCode(t, exitOK)
	wantContains(t, "root line", spanLine(t, r.stdout, callerSpanName), "plugin.export=_start")
}

func TestRunSDKAllowPath(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "test.txt"), "hello world!")
	wasm := sdkPlugin(t, "fs.wasm")

	r := runCmd(t, "run", "-allow-path", dir+":/mnt", wasm, "run_test")
	r.wantCode(t, exitOK)
	if got := firstLine(r.stdout); got != "hello world!" {
		t.Errorf("output %q, want the file that fs.wasm reads from /mnt", got)
	}
	r = runCmd(t, "run", wasm, "run_test")
	r.wantCode(t, exitGuest)

	r = runCmd(t, "run", "-allow-path", filepath.Join(dir, "nope")+":/mnt", wasm, "run_test")
	r.wantCode(t, exitSetup)
	wantContains(t, "stderr", r.stderr, "-allow-path "+filepath.Join(dir, "nope"), "no such file or directory")
}

// ro: mounts read-only, as the SDK's TestReadOnlyMount has it.
func TestRunSDKAllowPathReadOnly(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "test.txt")
	writeFile(t, file, "hello world!")
	wasm := sdkPlugin(t, "read_write.wasm")

	r := runCmd(t, "run", "-allow-path", "ro:"+dir+":/mnt", "-config", "path=/mnt/test.txt", wasm, "try_read")
	r.wantCode(t, exitOK)
	if got := firstLine(r.stdout); got != "hello world!" {
		t.Errorf("try_read output %q", got)
	}
	r = runCmd(t, "run", "-allow-path", "ro:"+dir+":/mnt", "-config", "path=/mnt/test.txt", "-i", "changed", wasm, "try_write")
	r.wantCode(t, exitGuest)
	wantContains(t, "stderr", r.stderr, "Failed to write file")

	r = runCmd(t, "run", "-allow-path", dir+":/mnt", "-config", "path=/mnt/test.txt", "-i", "changed", wasm, "try_write")
	r.wantCode(t, exitOK)
	// try_write appends.
	if b, _ := os.ReadFile(file); string(b) != "hello world!changed" {
		t.Errorf("file %q after try_write on a writable mount", b)
	}
}

func TestRunSDKLink(t *testing.T) {
	t.Parallel()
	main, lib := sdkPlugin(t, "main.wasm"), sdkPlugin(t, "lib.wasm")
	r := runCmd(t, "run", "-link", "lib="+lib, "-i", "benjamin", main, "run_test")
	r.wantCode(t, exitOK)
	if got := firstLine(r.stdout); got != "Hello, BENJAMIN" {
		t.Errorf("output %q", got)
	}
	wantContains(t, "call span line", spanLine(t, r.stdout, "run_test"), "extism.plugin.name=main")

	// Without the module: which import, and the flag that gives it.
	r = runCmd(t, "run", "-i", "benjamin", main, "run_test")
	r.wantCode(t, exitSetup)
	wantContains(t, "stderr", r.stderr, "module[lib] not instantiated",
		"extism-observe: hint: the plugin imports lib.capitalize: if lib is a module, give it with -link lib=PATH.wasm")

	// A module linked under the name, without the function.
	r = runCmd(t, "run", "-link", "lib="+sdkPlugin(t, "count_vowels.wasm"), main, "run_test")
	r.wantCode(t, exitSetup)
	wantContains(t, "stderr", r.stderr, `"capitalize" is not exported in module "lib"`,
		"hint: the plugin imports lib.capitalize, which the module linked as lib does not export")

	r = runCmd(t, "run", "-link", "lib="+filepath.Join(t.TempDir(), "nope.wasm"), main, "run_test")
	r.wantCode(t, exitSetup)
	wantContains(t, "stderr", r.stderr, "-link lib: reading the plugin")
}

// host.wasm imports the app's host function mult, which the runner does
// not have.
func TestRunSDKMissingHostFunction(t *testing.T) {
	t.Parallel()
	r := runCmd(t, "run", sdkPlugin(t, "host.wasm"), "run_test")
	r.wantCode(t, exitSetup)
	wantContains(t, "stderr", r.stderr, "cannot load the plugin", "module[extism:host/user] not instantiated",
		"extism-observe: hint: the plugin imports extism:host/user.mult: host functions of the application it was written for")
	if r.stdout != "" {
		t.Errorf("stdout %q", r.stdout)
	}
}

func TestRunSDKInput(t *testing.T) {
	t.Parallel()
	wasm := sdkPlugin(t, "count_vowels.wasm")
	for _, tc := range []struct {
		name  string
		stdin string
		args  []string
	}{
		{"i", "", []string{"-i", "hello world"}},
		{"input", "", []string{"-input", "hello world"}},
		{"stdin", "hello world", []string{"-stdin"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			args := append(append([]string{"run"}, tc.args...), wasm)
			r := runCmdStdin(t, strings.NewReader(tc.stdin), args...)
			r.wantCode(t, exitOK)
			if got := firstLine(r.stdout); got != `{"count":3,"total":3,"vowels":"aeiouAEIOU"}` {
				t.Errorf("output %q", got)
			}
			wantContains(t, "root line", spanLine(t, r.stdout, callerSpanName), "plugin.input_bytes=11", "plugin.export=count_vowels")
		})
	}
}

// -loop calls the same instance again (count_vowels keeps a running total
// in a var), each call the root of a trace of its own, and sums up.
func TestRunSDKLoop(t *testing.T) {
	t.Parallel()
	r := runCmdStdin(t, strings.NewReader("hello world"), "run", "-stdin", "-loop", "3", sdkPlugin(t, "count_vowels.wasm"))
	r.wantCode(t, exitOK)
	for _, total := range []string{`"total":3,`, `"total":6,`, `"total":9,`} {
		wantContains(t, "stdout", r.stdout, `{"count":3,`+total)
	}
	traceIDs := regexp.MustCompile(`(?m)^trace ([0-9a-f]{32})$`).FindAllStringSubmatch(r.stdout, -1)
	if len(traceIDs) != 3 || traceIDs[0][1] == traceIDs[1][1] || traceIDs[1][1] == traceIDs[2][1] {
		t.Errorf("trace lines %q, want 3 traces", traceIDs)
	}
	if n := strings.Count(r.stdout, "\n"+callerSpanName+" "); n != 3 {
		t.Errorf("%d root spans, want 3", n)
	}
	summary := regexp.MustCompile(`extism-observe: 3 calls of count_vowels: min \S+, median \S+, max \S+\n`)
	if !summary.MatchString(r.stderr) {
		t.Errorf("no summary line in stderr:\n%s", r.stderr)
	}
	wantContains(t, "metrics", r.stdout, "extism.call.duration histogram count=3 ")
}

// A WASI command's instance is closed by its exit: each call of -loop gets
// a new one.
func TestRunSDKLoopCommand(t *testing.T) {
	t.Parallel()
	r := runCmd(t, "run", "-loop", "2", "-i", "ben", sdkPlugin(t, "count_vowels_std.wasm"))
	r.wantCode(t, exitOK)
	if n := strings.Count(r.stdout, `{"count": 1, "config": "<unset by host>", "a": "this is var a"}`); n != 2 {
		t.Errorf("%d outputs, want 2", n)
	}
	wantContains(t, "stderr", r.stderr, "2 calls of _start: min ")
}

// The exit status is the worst call's; each failure is reported.
func TestRunSDKLoopFailures(t *testing.T) {
	t.Parallel()
	r := runCmd(t, "run", "-loop", "2", sdkPlugin(t, "fail.wasm"), "run_test")
	r.wantCode(t, exitGuest)
	if n := strings.Count(r.stderr, "calling run_test: Some error message\n"); n != 2 {
		t.Errorf("%d failures reported, want 2:\n%s", n, r.stderr)
	}
	wantContains(t, "stderr", r.stderr, "2 calls of run_test (2 failed): min ")
}

func TestRunSDKManifest(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	copyFile(t, sdkPlugin(t, "config.wasm"), dir)
	copyFile(t, sdkPlugin(t, "main.wasm"), dir)
	copyFile(t, sdkPlugin(t, "lib.wasm"), dir)
	copyFile(t, sdkPlugin(t, "fs.wasm"), dir)
	copyFile(t, sdkPlugin(t, "sleep.wasm"), dir)
	if err := os.Mkdir(filepath.Join(dir, "data"), 0o700); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "data", "test.txt"), "hello world!")
	manifest := func(name string, m map[string]any) string {
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, name)
		writeFile(t, path, string(b))
		return path
	}
	wasm := func(path string) []map[string]string { return []map[string]string{{"path": path}} }

	// Relative paths are the manifest's: the test runs elsewhere.
	config := manifest("config.json", map[string]any{"wasm": wasm("config.wasm"), "config": map[string]string{"thing": "from the manifest"}})
	r := runCmd(t, "run", "-manifest", config, "run_test")
	r.wantCode(t, exitOK)
	if got := firstLine(r.stdout); got != `{"config": "from the manifest"}` {
		t.Errorf("output %q", got)
	}
	wantContains(t, "call span line", spanLine(t, r.stdout, "run_test"), "extism.plugin.name=config")
	r = runCmd(t, "run", "-manifest", "-config", "thing=from the flag", config, "run_test")
	r.wantCode(t, exitOK)
	if got := firstLine(r.stdout); got != `{"config": "from the flag"}` {
		t.Errorf("output %q with -config", got)
	}

	linked := manifest("linked.json", map[string]any{"wasm": []map[string]string{
		{"path": "lib.wasm", "name": "lib"}, {"path": "main.wasm", "name": "main"}}})
	r = runCmd(t, "run", "-manifest", "-i", "benjamin", linked, "run_test")
	r.wantCode(t, exitOK)
	if got := firstLine(r.stdout); got != "Hello, BENJAMIN" {
		t.Errorf("linked output %q", got)
	}

	fs := manifest("fs.json", map[string]any{"wasm": wasm("fs.wasm"), "allowed_paths": map[string]string{"data": "/mnt"}})
	r = runCmd(t, "run", "-manifest", fs, "run_test")
	r.wantCode(t, exitOK)
	if got := firstLine(r.stdout); got != "hello world!" {
		t.Errorf("allowed_paths output %q", got)
	}

	sleep := manifest("sleep.json", map[string]any{"wasm": wasm("sleep.wasm"), "timeout_ms": 100, "config": map[string]string{"duration": "3"}})
	r = runCmd(t, "run", "-manifest", sleep, "run_test")
	r.wantCode(t, exitGuest)
	wantContains(t, "stderr", r.stderr, "run_test timed out after 100ms")

	missing := manifest("missing.json", map[string]any{"wasm": wasm("nope.wasm")})
	r = runCmd(t, "run", "-manifest", missing, "run_test")
	r.wantCode(t, exitSetup)
	wantContains(t, "stderr", r.stderr, missing+": wasm[0]: reading the plugin", filepath.Join(dir, "nope.wasm"))

	r = runCmd(t, "run", config, "run_test")
	r.wantCode(t, exitSetup)
	wantContains(t, "stderr", r.stderr, "is not a WebAssembly module (it looks like JSON: for an Extism manifest, add -manifest)")

	notJSON := filepath.Join(dir, "bad.json")
	writeFile(t, notJSON, "wasm: [")
	r = runCmd(t, "run", "-manifest", notJSON)
	r.wantCode(t, exitSetup)
	wantContains(t, "stderr", r.stderr, notJSON+" is not an Extism JSON manifest")
}

// -memory-max limits every memory of the plugin: a large input does not
// fit, and the plugin's allocator gives up.
func TestRunSDKMemoryMax(t *testing.T) {
	t.Parallel()
	wasm := sdkPlugin(t, "count_vowels.wasm")
	big := strings.Repeat("a", 300_000)
	r := runCmd(t, "run", "-min-duration", "1h", "-i", big, wasm)
	r.wantCode(t, exitOK)

	r = runCmd(t, "run", "-min-duration", "1h", "-memory-max", "20", "-i", big, wasm)
	r.wantCode(t, exitGuest)
	wantContains(t, "stderr", r.stderr, "calling count_vowels: wasm error: unreachable\nwasm stack trace:\n\t.__rg_oom(",
		"hint: the plugin seems to have run out of memory: -memory-max 20 pages allows it 1280 KiB")

	r = runCmd(t, "run", "-memory-max", "2", wasm)
	r.wantCode(t, exitSetup)
	wantContains(t, "stderr", r.stderr, "over limit of 2 pages", "hint: -memory-max 2 is below the 16 pages that Extism's kernel")
}

func TestRunSDKVarMax(t *testing.T) {
	t.Parallel()
	wasm := sdkPlugin(t, "var.wasm")
	r := runCmd(t, "run", wasm, "run_test")
	r.wantCode(t, exitOK)
	r = runCmd(t, "run", "-var-max", "0", wasm, "run_test")
	r.wantCode(t, exitGuest)
	wantContains(t, "stderr", r.stderr, "Vars are disabled by this host", "hint: -var-max 0 disables Extism vars")
	r = runCmd(t, "run", "-var-max", "3", wasm, "run_test")
	r.wantCode(t, exitGuest)
	wantContains(t, "stderr", r.stderr, "Variable store is full", "raise it with -var-max BYTES")
}

// The response of -http-server is some 50 bytes.
func TestRunHTTPResponseMax(t *testing.T) {
	t.Parallel()
	r := runCmd(t, "run", "-http-server", "-http-response-max", "10", guest("http.wasm"), "fetch")
	r.wantCode(t, exitGuest)
	wantContains(t, "stderr", r.stderr, "calling fetch: http: request body too large\n", "raise it with -http-response-max BYTES")
	r = runCmd(t, "run", "-http-server", "-http-response-max", "1000", guest("http.wasm"), "fetch")
	r.wantCode(t, exitOK)
}

// -timeout 100 is 100ms, as for extism call; sleep.wasm sleeps for 3s.
func TestRunSDKTimeoutMillis(t *testing.T) {
	t.Parallel()
	r := runCmd(t, "run", "-timeout", "100", "-config", "duration=3", sdkPlugin(t, "sleep.wasm"), "run_test")
	r.wantCode(t, exitGuest)
	wantContains(t, "stderr", r.stderr, "run_test timed out after 100ms (-timeout)")
	// The call's own duration, not the run's: compiling takes long under
	// the race detector.
	m := regexp.MustCompile(`(?m)^extism\.call\.duration histogram count=1 sum=(\S+) `).FindStringSubmatch(r.stdout)
	if m == nil {
		t.Fatalf("no extism.call.duration in:\n%s", r.stdout)
	}
	if took, err := strconv.ParseFloat(m[1], 64); err != nil || took > 2 {
		t.Errorf("the call took %ss: the timeout did not stop the guest's 3s sleep", m[1])
	}
}

// A request to a host not allowed: the SDK's http.wasm asks for
// jsonplaceholder.typicode.com, refused before any network.
func TestRunSDKDeniedHost(t *testing.T) {
	t.Parallel()
	r := runCmd(t, "run", sdkPlugin(t, "http.wasm"), "run_test")
	r.wantCode(t, exitGuest)
	wantContains(t, "stderr", r.stderr,
		"calling run_test: HTTP request to 'https://jsonplaceholder.typicode.com/todos/1' is not allowed\nwasm stack trace:\n",
		"extism-observe: hint: the plugin may not send HTTP requests to jsonplaceholder.typicode.com: allow it with -allow-host jsonplaceholder.typicode.com\n")
	if strings.Contains(r.stderr, "recovered by wazero") {
		t.Errorf("stderr has wazero's panic suffix:\n%s", r.stderr)
	}

	r = runCmd(t, "run", "-input", "http://localhost:1/", guest("http.wasm"), "fetch")
	r.wantCode(t, exitGuest)
	wantContains(t, "stderr", r.stderr, "hint: the plugin may not send HTTP requests to localhost: allow it with -allow-host localhost")
}

// A trap: its first line and the guest's stack trace once on stderr, as
// lines; in the tree, only the message.
func TestRunTrapMessage(t *testing.T) {
	t.Parallel()
	r := runCmd(t, "run", guest("cguest.wasm"), "trap")
	r.wantCode(t, exitGuest)
	wantContains(t, "stderr", r.stderr,
		"extism-observe: "+guest("cguest.wasm")+": calling trap: wasm error: unreachable\nwasm stack trace:\n\t.trap() i32\n")
	if n := strings.Count(r.stderr, "wasm stack trace:"); n != 1 {
		t.Errorf("the stack trace is on stderr %d times", n)
	}
	for _, s := range []string{"wasm stack trace", "exception.stacktrace"} {
		if strings.Contains(r.stdout, s) {
			t.Errorf("the tree has %q:\n%s", s, r.stdout)
		}
	}
	wantContains(t, "tree", r.stdout, `exception exception.message="wasm error: unreachable"`)

	// A guest's own error, fail.wasm's, has no stack trace.
	r = runCmd(t, "run", sdkPlugin(t, "fail.wasm"), "run_test")
	r.wantCode(t, exitGuest)
	wantContains(t, "stderr", r.stderr, "fail.wasm: calling run_test: Some error message\n")
	wantContains(t, "root line", spanLine(t, r.stdout, callerSpanName), `ERROR "calling run_test: Some error message"`)
}
