// Package compat runs the Extism Go SDK's own tests and benchmarks with the
// observer on: every plugin they create goes through an Observer, the way
// an app enables it. Its test checks that every SDK test that passes
// without the observer passes with it; benchmarks/sdk.sh compares the SDK's
// benchmarks with and without it.
//
// The SDK's tests are in its package, which the observer imports, so they
// run in a copy of the SDK from the module cache, whose tests create their
// plugins through a hook (testdata/observe_hook_test.go) that an external
// test file of the copy (testdata/observe_setup_test.go) sets.
package compat

import (
	"embed"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"

	_ "github.com/extism/go-sdk" // the version whose suite runs is this module's
)

//go:embed testdata/observe_hook_test.go testdata/observe_setup_test.go
var hookFiles embed.FS

// PrepareSDK writes to dst a copy of the Extism Go SDK, as this module
// requires it, whose tests and benchmarks create plugins through the
// observer when OBSERVE_COMPAT is set: "1" for tests (spans recorded and
// checked), "inert" for tests with an inert Observer (every sink a no-op
// one, so its plugins get no listeners), "bench" for benchmarks (a
// batching TracerProvider whose spans go nowhere), "bench-noop" (OpenTelemetry's global providers, as an app
// that set none up has), and, without an observer, "bench-floor" (as many
// host functions that do nothing) and "bench-listeners" (those and empty
// wazero listeners on the exports): benchmarks/sdk.sh runs them all. root
// is the checkout of the observer to use.
func PrepareSDK(dst, root string) error {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/extism/go-sdk").Output()
	if err != nil {
		return fmt.Errorf("compat: go list the Extism Go SDK: %w", err)
	}
	src := strings.TrimSpace(string(out))
	err = filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		return fmt.Errorf("compat: copy the SDK: %w", err)
	}

	// The tests create plugins through the hook.
	testFile := filepath.Join(dst, "extism_test.go")
	b, err := os.ReadFile(testFile)
	if err != nil {
		return err
	}
	calls := regexp.MustCompile(`\b(NewCompiledPlugin|NewPlugin)\(`)
	if n := len(calls.FindAll(b, -1)); n < 15 {
		return fmt.Errorf("compat: found %d plugin creations in the SDK's tests; expected the v1.7.1 layout", n)
	}
	b = calls.ReplaceAll(b, []byte("observed$1("))
	if err := os.WriteFile(testFile, b, 0o644); err != nil {
		return err
	}
	for _, f := range []string{"observe_hook_test.go", "observe_setup_test.go"} {
		b, err := hookFiles.ReadFile("testdata/" + f)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dst, f), b, 0o644); err != nil {
			return err
		}
	}

	// The copy's module: the SDK's, plus the observer from root.
	gomod, err := os.ReadFile(filepath.Join(dst, "go.mod"))
	if err != nil {
		return err
	}
	gomod = append(gomod, fmt.Sprintf("\nrequire github.com/extism-observe/observe v0.0.0\n\nreplace github.com/extism-observe/observe => %s\n", root)...)
	if err := os.WriteFile(filepath.Join(dst, "go.mod"), gomod, 0o644); err != nil {
		return err
	}
	var sums []byte
	for _, f := range []string{filepath.Join(dst, "go.sum"), filepath.Join(root, "go.sum")} {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		sums = append(sums, b...)
	}
	if err := os.WriteFile(filepath.Join(dst, "go.sum"), sums, 0o644); err != nil {
		return err
	}
	// Resolve the versions the observer needs (a newer OpenTelemetry...).
	tidy := exec.Command("go", "mod", "tidy", "-e")
	tidy.Dir = dst
	if out, err := tidy.CombinedOutput(); err != nil {
		return fmt.Errorf("compat: go mod tidy in the SDK's copy: %w\n%s", err, out)
	}
	return nil
}
