// Package names turns the function names of guest modules into span names:
// demangled, bounded and valid UTF-8, and matches them against the globs of
// WithFunctionSpans. Names come from the guest's module: untrusted.
package names

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/ianlancetaylor/demangle"
)

// maxDemangled bounds the names given to the demangler: names come from
// the guest's module, and demangling work grows with them.
const maxDemangled = 1024

// MaxLength bounds the span name of a function, in bytes.
const MaxLength = 4096

// Display turns a function name from a name section into what a span
// shows: demangled (C++ Itanium, Rust legacy and v0), else as it is; valid
// UTF-8 either way, and bounded.
func Display(name string) string {
	if name == "" {
		return ""
	}
	if len(name) <= maxDemangled {
		name = demangled(name)
	}
	if len(name) > MaxLength {
		name = name[:MaxLength]
	}
	if !utf8.ValidString(name) {
		// Each invalid byte becomes three: bound the name again, at the
		// start of a rune.
		name = strings.ToValidUTF8(name, "\uFFFD")
		if len(name) > MaxLength {
			i := MaxLength
			for !utf8.RuneStart(name[i]) {
				i--
			}
			name = name[:i]
		}
		return name
	}
	return strings.Clone(name)
}

// demangled is name demangled, or name itself when the demangler cannot,
// or panics: it has panicked on names as short as "_ZW1A", and a name
// section is the guest's to write.
func demangled(name string) (out string) {
	defer func() {
		if recover() != nil {
			out = name
		}
	}()
	return demangle.Filter(name, demangle.NoClones)
}

// Fallback is the stable name of a function the module does not name.
func Fallback(index uint32) string {
	return "func[" + strconv.FormatUint(uint64(index), 10) + "]"
}

// Match reports whether s matches pattern, where '*' matches any run
// of bytes and '?' any one byte. Unlike path.Match, '/' is not special:
// demangled names contain it ("operator/").
func Match(pattern, s string) bool {
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
