package observe

import (
	"context"
	"errors"

	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/sys"
)

// functionListener gives a span to each call of a guest function picked by
// WithFunctionSpans.
type functionListener struct{}

var _ experimental.FunctionListener = functionListener{}

func (functionListener) Before(ctx context.Context, mod api.Module, def api.FunctionDefinition, _ []uint64, _ experimental.StackIterator) {
	c := lookupCall(ctx)
	if c == nil {
		return
	}
	info := c.info
	if mod != c.mod {
		info = moduleOf(mod, def)
	}
	if info != nil {
		if name := info.spanName(def.Index()); name != "" {
			c.functionEnter(def.Index(), name)
		}
	}
}

func (functionListener) After(ctx context.Context, _ api.Module, def api.FunctionDefinition, _ []uint64) {
	if c := lookupCall(ctx); c != nil {
		c.functionExit(def.Index(), nil)
	}
}

func (functionListener) Abort(ctx context.Context, _ api.Module, def api.FunctionDefinition, err error) {
	if c := lookupCall(ctx); c != nil {
		c.functionExit(def.Index(), failure(err))
	}
}

// failure returns err, unless it is how a WASI program exits successfully.
func failure(err error) error {
	var exitErr *sys.ExitError
	if errors.As(err, &exitErr) && exitErr.ExitCode() == 0 {
		return nil
	}
	return err
}

// functionSpanName returns the span name of a guest function when it
// matches a WithFunctionSpans pattern, else "".
func (o *Observer) functionSpanName(def api.FunctionDefinition) string {
	if len(o.functionSpans) == 0 {
		return ""
	}
	name := displayName(def.Name())
	if name == "" {
		name = fallbackName(def.Index())
	}
	for _, p := range o.functionSpans {
		if matchGlob(p, name) || (def.Name() != "" && matchGlob(p, def.Name())) {
			return name
		}
	}
	return ""
}

// matchGlob reports whether s matches pattern, where '*' matches any run
// of bytes and '?' any one byte. Unlike path.Match, '/' is not special:
// demangled names contain it ("operator/").
func matchGlob(pattern, s string) bool {
	// Iterative, with backtracking to the last '*' only: linear in
	// practice, never exponential.
	p, i := 0, 0
	star, mark := -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && (pattern[p] == '?' || pattern[p] == s[i]):
			p++
			i++
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case star >= 0:
			p = star + 1
			mark++
			i = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}
