package main

import (
	"bytes"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// guest is the path of a module in the repository's testdata.
func guest(name string) string { return filepath.Join("..", "..", "testdata", name) }

// result is what one in-process run of the command wrote and returned.
type result struct {
	code           int
	stdout, stderr string
}

// runCmd runs the command in-process with args, without a standard input.
func runCmd(t *testing.T, args ...string) result {
	t.Helper()
	return runCmdStdin(t, nil, args...)
}

// runCmdStdin runs the command in-process with args and stdin.
func runCmdStdin(t *testing.T, stdin io.Reader, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := runIO(args, stdin, &stdout, &stderr)
	r := result{code: code, stdout: stdout.String(), stderr: stderr.String()}
	t.Logf("extism-observe %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, r.stdout, r.stderr)
	return r
}

func (r result) wantCode(t *testing.T, code int) {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit code %d, want %d", r.code, code)
	}
}

// outline reduces the printed trace tree in out to one line per span,
// "span DEPTH NAME", and per event, "event TEXT", in the printed order;
// durations and attributes are left out. It stops at the metrics heading.
func outline(t *testing.T, out string) []string {
	t.Helper()
	var lines []string
	inTree, root := false, false
	for _, line := range strings.Split(out, "\n") {
		switch {
		case strings.HasPrefix(line, "trace "):
			inTree, root = true, true
			continue
		case line == "metrics" || line == "":
			inTree = false
			continue
		case !inTree:
			continue
		}
		if root {
			root = false
			name, _, _ := strings.Cut(line, " ")
			if strings.HasPrefix(line, callerSpanName+" ") {
				name = callerSpanName
			}
			lines = append(lines, "span 0 "+name)
			continue
		}
		r := []rune(line)
		i := slices.IndexFunc(r, func(c rune) bool { return c == '├' || c == '└' })
		if i < 0 {
			lines = append(lines, "event "+strings.TrimLeft(line, " │"))
			continue
		}
		name, _, _ := strings.Cut(string(r[i+3:]), " ")
		lines = append(lines, "span "+string(rune('0'+i/3+1))+" "+name)
	}
	if len(lines) == 0 {
		t.Fatalf("no trace tree in:\n%s", out)
	}
	return lines
}

// metricLines returns the lines under the metrics heading.
func metricLines(out string) []string {
	_, after, ok := strings.Cut(out, "\nmetrics\n")
	if !ok {
		return nil
	}
	return strings.Split(strings.TrimSuffix(after, "\n"), "\n")
}

// spanLine returns the printed line of the span named name.
func spanLine(t *testing.T, out, name string) string {
	t.Helper()
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, "─ "+name+" ") || strings.HasPrefix(line, name+" ") {
			return line
		}
	}
	t.Fatalf("no span %q in:\n%s", name, out)
	return ""
}

func wantLines(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s:\ngot:\n\t%s\nwant:\n\t%s", what, strings.Join(got, "\n\t"), strings.Join(want, "\n\t"))
	}
}

func wantContains(t *testing.T, what, s string, subs ...string) {
	t.Helper()
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			t.Errorf("%s does not contain %q:\n%s", what, sub, s)
		}
	}
}
