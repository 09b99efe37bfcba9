package stdout

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestAppendEscaped(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"plain", "handling request", "handling request"},
		{"empty", "", ""},
		{"unicode letters", "日本語 ünïcödé", "日本語 ünïcödé"},
		{"emoji with joiner", "👩‍💻", "👩‍💻"},
		{"SGR sequence", "\x1b[31mred\x1b[0m", `\x1b[31mred\x1b[0m`},
		{"clear screen", "\x1b[2J\x1b[H", `\x1b[2J\x1b[H`},
		{"OSC title", "\x1b]0;pwned\x07", `\x1b]0;pwned\x07`},
		{"OSC 8 hyperlink", "\x1b]8;;http://x\x1b\\link", `\x1b]8;;http://x\x1b\link`},
		{"CRLF", "line1\r\nline2", `line1\r\nline2`},
		{"carriage return overwrite", "ok\rFAIL", `ok\rFAIL`},
		{"tab", "a\tb", `a\tb`},
		{"NUL and DEL", "\x00\x7f", `\x00\x7f`},
		{"backspace", "abc\b\b", `abc\x08\x08`},
		{"C1 CSI as UTF-8", "\u009b31m", `\u009b31m`},
		{"C1 NEL as UTF-8", "a\u0085b", `a\u0085b`},
		{"C1 CSI as a raw byte", "\x9b31m", "\uFFFD31m"},
		{"invalid UTF-8", "a\xff\xfeb", "a\uFFFD\uFFFDb"},
		{"cut UTF-8 sequence", "a\xe2\x82", "a\uFFFD\uFFFD"},
		{"overlong encoding", "\xc0\xaf", "\uFFFD\uFFFD"},
		{"real U+FFFD", "\uFFFD", "\uFFFD"},
		{"line separator", "a\u2028b\u2029c", `a\u2028b\u2029c`},
		{"bidi override", "user\u202eexe.txt", `user\u202eexe.txt`},
		{"private use above BMP", "\U000F0000", `\U000f0000`},
		{"backslash left alone", `C:\dir`, `C:\dir`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(appendEscaped(nil, tt.in, maxTextRunes, false))
			if got != tt.want {
				t.Errorf("appendEscaped(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestAppendEscapedCutsLongText(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"at the limit", strings.Repeat("a", 256), strings.Repeat("a", 256)},
		{"one over", strings.Repeat("a", 257), strings.Repeat("a", 256) + "…"},
		{"very long", strings.Repeat("a", 1<<20), strings.Repeat("a", 256) + "…"},
		{"multi-byte runes", strings.Repeat("é", 300), strings.Repeat("é", 256) + "…"},
		// Escapes count by their length and are never cut in half.
		{"escapes", strings.Repeat("\x1b", 100), strings.Repeat(`\x1b`, 64) + "…"},
		{"escape at the edge", strings.Repeat("a", 254) + "\x1b", strings.Repeat("a", 254) + "…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(appendEscaped(nil, tt.in, maxTextRunes, false))
			if got != tt.want {
				t.Errorf("appendEscaped(%d bytes) = %q (%d runes), want %q", len(tt.in), got, utf8.RuneCountInString(got), tt.want)
			}
		})
	}
}

func TestAppendQuotedIfNeeded(t *testing.T) {
	tests := []struct {
		in, delims, want string
	}{
		{"plain", valueDelims, "plain"},
		{"/users", valueDelims, "/users"},
		{"ünïcödé", valueDelims, "ünïcödé"},
		{"", valueDelims, `""`},
		{"user page", valueDelims, `"user page"`},
		{"a\u00a0b", valueDelims, "\"a\u00a0b\""},
		{`say "hi"`, valueDelims, `"say \"hi\""`},
		{`C:\dir`, valueDelims, `"C:\\dir"`},
		{"k=v", valueDelims, `"k=v"`},
		{"a,b", valueDelims, `"a,b"`},
		{"[x]", valueDelims, `"[x]"`},
		{"{x}", valueDelims, `"{x}"`},
		{"x\r\ny", valueDelims, `"x\r\ny"`},
		{"\x1b[2J", valueDelims, `"\x1b[2J"`},
		{"bad\xff", valueDelims, "\"bad\uFFFD\""},
		{"{request}", unitDelims, "{request}"},
		{"m s", unitDelims, `"m s"`},
	}
	for _, tt := range tests {
		got := string(appendQuotedIfNeeded(nil, tt.in, maxTextRunes, tt.delims))
		if got != tt.want {
			t.Errorf("appendQuotedIfNeeded(%q, %q) = %s, want %s", tt.in, tt.delims, got, tt.want)
		}
	}
}

// checkSafe fails t if out holds anything that could act on a terminal:
// a control character other than the newlines ending lines, a C1 control,
// invalid UTF-8, or an escape sequence other than the exporters' own styles.
func checkSafe(t *testing.T, out string) {
	t.Helper()
	for _, style := range []string{styleReset, styleBold, styleDim, styleRed, styleGreen, styleYellow, styleBlue, styleMagenta, styleCyan} {
		out = strings.ReplaceAll(out, style, "")
	}
	if !utf8.ValidString(out) {
		t.Errorf("output is not valid UTF-8: %q", out)
	}
	for i, r := range out {
		if (r < 0x20 && r != '\n') || (r >= 0x7f && r <= 0x9f) || r == '\u2028' || r == '\u2029' || r == '\u202e' {
			t.Errorf("output holds %U at byte %d: %q", r, i, out)
			return
		}
	}
}

func FuzzAppendEscaped(f *testing.F) {
	for _, s := range []string{"plain", "\x1b[31m", "\r\n", "\x9b", "\u009b", "\xff", "a b=c", strings.Repeat("é", 300)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, quoted := range []bool{false, true} {
			out := string(appendEscaped(nil, s, maxTextRunes, quoted))
			checkSafe(t, out)
			if strings.Contains(out, "\n") {
				t.Fatalf("newline in %q", out)
			}
			if n := utf8.RuneCountInString(out); n > maxTextRunes+1 {
				t.Fatalf("%d runes, want at most %d", n, maxTextRunes+1)
			}
		}
		checkSafe(t, string(appendQuotedIfNeeded(nil, s, maxTextRunes, valueDelims)))
	})
}
