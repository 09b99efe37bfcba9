package observe

import (
	"testing"

	"github.com/extism-observe/observe/internal/conv"
)

// The exporters take the scope and version from internal/conv; the
// exported constants must say the same.
func TestScopeAndVersionMatchConv(t *testing.T) {
	if ScopeName != conv.ScopeName || Version != conv.Version {
		t.Errorf("ScopeName %q, Version %q; internal/conv has %q, %q", ScopeName, Version, conv.ScopeName, conv.Version)
	}
}
