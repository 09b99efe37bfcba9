package compat

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// expected lists the SDK tests allowed to pass without the observer and
// fail with it, with the reason.
var expected = map[string]string{
	// The SDK's own observe-sdk integration (PluginConfig.ObserveAdapter)
	// installs its host functions only where none are; beside the
	// observer's it receives nothing. The observer says so (an error line,
	// expected below), and the README says how to migrate.
	"TestObserve": "the SDK's observe-sdk adapter receives nothing beside the observer's host functions",
}

// needsInternet lists the SDK tests that fetch from the internet, which
// this machine does not reach: they fail with and without the observer.
var needsInternet = map[string]bool{
	"TestWasmUrl": true, "TestHTTP_allowed": true, "TestHTTPHeaders_allowed": true, "TestHTTPHeaders_denied": true,
}

// expectedErrors are the observer's own error lines that the SDK's tests
// cause on purpose.
var expectedErrors = []string{"PluginConfig.ObserveAdapter"}

func TestExtismSDKSuite(t *testing.T) {
	if testing.Short() {
		t.Skip("the Extism Go SDK's suite takes minutes; run without -short")
	}
	dir := sdkCopy(t)
	without := runSuite(t, dir, "")
	with := runSuite(t, dir, "1")
	passed := sameResults(t, without, with, "the observer", nil)

	// With an inert Observer the plugins run without listeners, and every
	// test passes as without it. But one: TestCallFunctionMultipleInstances
	// takes 90 of the suite's 115 s here, making instances of one compiled
	// plugin in a loop, which the other two runs have covered.
	inertSkips := map[string]bool{"TestCallFunctionMultipleInstances": true}
	inert := runSuite(t, dir, "inert", "-skip", "^TestCallFunctionMultipleInstances$")
	sameResults(t, without, inert, "an inert observer", inertSkips)
	if inert.report == nil || inert.report.Plugins == 0 {
		t.Errorf("the inert run created no plugin through the hook (report %+v)", inert.report)
	} else {
		t.Logf("with an inert observer: %d plugins", inert.report.Plugins)
	}

	for name := range expected {
		t.Logf("allowed to differ: %s (%s): %s without, %s with the observer, %s with an inert one",
			name, expected[name], without.results[name], with.results[name], inert.results[name])
	}
	rep := with.report
	if rep == nil {
		t.Fatalf("the observed run printed no report:\n%s", with.output)
	}
	t.Logf("with the observer: %d plugins, %d spans started, %d ended; %d of %d tests passed without it",
		rep.Plugins, rep.SpansStarted, rep.SpansEnded, len(passed), len(without.results))
	if rep.Plugins == 0 || rep.SpansStarted == 0 {
		t.Error("the observer saw no plugin: the hook is not in place")
	}
	if rep.SpansStarted != rep.SpansEnded {
		t.Errorf("%d spans started, %d ended", rep.SpansStarted, rep.SpansEnded)
	}
	for _, e := range rep.ObserverErrors {
		if !slices.ContainsFunc(expectedErrors, func(x string) bool { return strings.Contains(e, x) }) {
			t.Errorf("the observer logged an error: %s", e)
		}
	}
}

// sameResults reports each SDK test that passed in without and not in
// with (but those allowed to differ, in expected, and those with skipped),
// and each test that ran only in with; it returns the tests that passed in
// without.
func sameResults(t *testing.T, without, with suiteRun, what string, skipped map[string]bool) (passed []string) {
	t.Helper()
	var lost []string
	for name, r := range without.results {
		if r != "pass" {
			continue
		}
		passed = append(passed, name)
		if with.results[name] == "pass" {
			continue
		}
		top, _, _ := strings.Cut(name, "/")
		if _, ok := expected[top]; ok || skipped[top] {
			continue
		}
		lost = append(lost, fmt.Sprintf("%s: %s with %s", name, with.results[name], what))
	}
	slices.Sort(lost)
	for _, l := range lost {
		t.Error(l)
	}
	for name, r := range with.results {
		if needsInternet[strings.SplitN(name, "/", 2)[0]] {
			continue
		}
		if _, ok := without.results[name]; !ok {
			t.Errorf("%s ran (%s) only with %s", name, r, what)
		}
	}
	return passed
}

// sdkCopy prepares a copy of the Extism Go SDK to run the suite in.
func sdkCopy(t *testing.T) string {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), "go-sdk")
	if err := PrepareSDK(dst, root); err != nil {
		t.Fatal(err)
	}
	return dst
}

type report struct {
	Plugins        int      `json:"plugins"`
	SpansStarted   int      `json:"spans_started"`
	SpansEnded     int      `json:"spans_ended"`
	ObserverErrors []string `json:"observer_errors"`
}

type suiteRun struct {
	results map[string]string // test -> pass, fail or skip
	report  *report
	output  string
}

// runSuite runs the SDK's tests in dir with OBSERVE_COMPAT=mode ("" for
// none, "1" for the observer, "inert" for an inert one) and go test's
// flags args.
func runSuite(t *testing.T, dir, mode string, args ...string) suiteRun {
	t.Helper()
	cmd := exec.Command("go", append([]string{"test", "-json", "-count=1", "-timeout=15m"}, append(args, ".")...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "OBSERVE_COMPAT="+mode)
	out, err := cmd.Output()
	if _, exit := err.(*exec.ExitError); err != nil && !exit {
		t.Fatalf("go test (OBSERVE_COMPAT=%q): %v", mode, err)
	}
	r := suiteRun{results: map[string]string{}}
	var text strings.Builder
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 4<<20)
	for sc.Scan() {
		var ev struct{ Action, Test, Output string }
		if json.Unmarshal(sc.Bytes(), &ev) != nil {
			continue
		}
		switch ev.Action {
		case "pass", "fail", "skip":
			if ev.Test != "" {
				r.results[ev.Test] = ev.Action
			}
		case "output":
			text.WriteString(ev.Output)
			if rest, ok := strings.CutPrefix(ev.Output, "observe-compat: "); ok {
				r.report = new(report)
				if err := json.Unmarshal([]byte(rest), r.report); err != nil {
					t.Fatalf("report %q: %v", rest, err)
				}
			}
		}
	}
	r.output = text.String()
	if len(r.results) < 30 {
		t.Fatalf("the SDK's suite ran %d tests (OBSERVE_COMPAT=%q):\n%s\n%s", len(r.results), mode, r.output, out)
	}
	return r
}
