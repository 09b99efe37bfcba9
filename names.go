package observe

import (
	"strconv"

	"github.com/ianlancetaylor/demangle"
)

// maxDemangled bounds the names given to the demangler: names come from
// the guest's module, and demangling work grows with them.
const maxDemangled = 1024

// maxFunctionName bounds the span name of a function.
const maxFunctionName = 4096

// displayName turns a function name from a name section into what a span
// shows: demangled (C++ Itanium, Rust legacy and v0), else as it is; valid
// UTF-8 either way, and bounded.
func displayName(name string) string {
	if name == "" {
		return ""
	}
	if len(name) <= maxDemangled {
		name = demangle.Filter(name, demangle.NoClones)
	}
	if len(name) > maxFunctionName {
		name = name[:maxFunctionName]
	}
	return owned(name)
}

// fallbackName is the stable name of a function the module does not name.
func fallbackName(index uint32) string {
	return "func[" + strconv.FormatUint(uint64(index), 10) + "]"
}
