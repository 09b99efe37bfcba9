package names

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestDisplayName(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"main", "main"},
		{"_ZN4demo1a17h0123456789abcdefE", "demo::a"}, // Rust legacy
		{"_RNvCs1234_4demo1b", "demo::b"},             // Rust v0
		{"_Z1ci", "c(int)"},                           // C++ Itanium
		{"_ZN3foo3barEv.cold", "foo::bar()"},          // C++ clone suffix dropped
		{"_Z", "_Z"},                                  // not a whole mangled name
		{"_ZW1A", "_ZW1A"},                            // the demangler panicked on it
		{"bad\xffname", "bad\uFFFDname"},              // invalid UTF-8 replaced
		{strings.Repeat("x", 5000), strings.Repeat("x", MaxLength)},
		{strings.Repeat("a\xff", 2500), strings.Repeat("a\uFFFD", MaxLength/4)}, // bounded after the repair too
	} {
		if got := Display(tc.in); got != tc.want {
			t.Errorf("Display(%.40q) = %.40q, want %.40q", tc.in, got, tc.want)
		}
	}
}

func TestMatchGlob(t *testing.T) {
	for _, tc := range []struct {
		pattern, s string
		want       bool
	}{
		{"*", "", true},
		{"*", "anything::at/all", true},
		{"mid*", "middle", true},
		{"mid*", "amid", false},
		{"*::parse_*", "demo::parse_json", true},
		{"?ain", "main", true},
		{"?ain", "ain", false},
		{"a*b*c", "axxbyyc", true},
		{"a*b*c", "axxbyy", false},
		{"func[1?]", "func[17]", true},
		{"", "", true},
		{"", "x", false},
	} {
		if got := Match(tc.pattern, tc.s); got != tc.want {
			t.Errorf("Match(%q, %q) = %v", tc.pattern, tc.s, got)
		}
	}
}

// FuzzDisplayName: function names come from the guest's module. Whatever
// they are, naming a span with one neither panics nor yields invalid UTF-8
// or an unbounded name.
func FuzzDisplayName(f *testing.F) {
	for _, s := range []string{"_ZN4demo1a17h0123456789abcdefE", "_RNvCs1234_4demo1b", "_Z1ci", "_ZSt4cout", "main", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		got := Display(name)
		if !utf8.ValidString(got) || len(got) > MaxLength {
			t.Fatalf("Display(%q) = %q", name, got)
		}
	})
}

// FuzzMatchGlob: patterns come from the app, names from the guest: no
// panic, and a pattern always matches itself when it has no wildcards.
func FuzzMatchGlob(f *testing.F) {
	f.Add("a*b?c", "axxbyc")
	f.Fuzz(func(t *testing.T, pattern, s string) {
		Match(pattern, s)
		if !strings.ContainsAny(s, "*?") && !Match(s, s) {
			t.Fatalf("%q does not match itself", s)
		}
	})
}
