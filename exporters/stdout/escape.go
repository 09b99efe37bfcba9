package stdout

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Most runes of one piece of text shown: span and event names, attribute
// keys and values, metric names and units. Log messages get more room.
// Longer text is cut and ends in "…".
const (
	maxTextRunes    = 256
	maxMessageRunes = 1024
)

const hexDigits = "0123456789abcdef"

// appendEscaped appends s, which a plugin may control, so that nothing in it
// can act on a terminal or break the line: control characters (C0, DEL, C1),
// line and paragraph separators and invisible format characters such as
// bidirectional overrides become Go-style escapes (\n, \x1b, \u009b,
// \u202e); an ESC therefore never reaches the terminal, nor does the rest
// of an ANSI sequence act as one. Invalid UTF-8 becomes U+FFFD. When quoted
// is set, `"` and `\` are escaped too, for use between double quotes.
//
// At most limit runes are appended, escapes counted by their length; if s
// does not fit, the output is cut at a rune boundary and ends in "…". The
// work done is bounded by limit, not by len(s).
func appendEscaped(b []byte, s string, limit int, quoted bool) []byte {
	n := 0
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		var esc [10]byte
		piece := esc[:0]
		switch {
		case r == utf8.RuneError && size == 1:
			piece = utf8.AppendRune(piece, utf8.RuneError)
		case r == '\n':
			piece = append(piece, `\n`...)
		case r == '\r':
			piece = append(piece, `\r`...)
		case r == '\t':
			piece = append(piece, `\t`...)
		case quoted && (r == '"' || r == '\\'):
			piece = append(piece, '\\', byte(r))
		case r < 0x20 || r == 0x7f:
			piece = append(piece, '\\', 'x', hexDigits[r>>4], hexDigits[r&0xf])
		case !visible(r):
			piece = appendUnicodeEscape(piece, r)
		default:
			piece = append(piece, s[i:i+size]...)
		}
		w := 1
		if len(piece) > 1 && piece[0] == '\\' {
			w = len(piece)
		}
		if n+w > limit {
			return append(b, "…"...)
		}
		b = append(b, piece...)
		n += w
		i += size
	}
	return b
}

// visible reports whether r is safe to write as it is: a graphic rune or a
// space separator, or one of the joiners that emoji sequences and some
// scripts need. C1 controls, U+2028 and U+2029, bidirectional controls,
// private-use and unassigned code points are not.
func visible(r rune) bool {
	return unicode.IsGraphic(r) || r == '\u200c' || r == '\u200d'
}

func appendUnicodeEscape(b []byte, r rune) []byte {
	if r <= 0xffff {
		b = append(b, '\\', 'u')
		for shift := 12; shift >= 0; shift -= 4 {
			b = append(b, hexDigits[(r>>shift)&0xf])
		}
		return b
	}
	b = append(b, '\\', 'U')
	for shift := 28; shift >= 0; shift -= 4 {
		b = append(b, hexDigits[(r>>shift)&0xf])
	}
	return b
}

// Characters that make a word need quotes: those that delimit keys, values
// and lists, and for units (where {annotations} are common) fewer.
const (
	valueDelims = `"\=,[]{}`
	unitDelims  = `"\=`
)

// needsQuotes reports whether s must go between double quotes to be read
// back unambiguously: it is empty, or holds a space, a rune that would be
// escaped, U+FFFD, or one of delims.
func needsQuotes(s, delims string) bool {
	if s == "" {
		return true
	}
	for _, r := range s {
		if r == utf8.RuneError || strings.ContainsRune(delims, r) ||
			unicode.IsSpace(r) || r < 0x20 || r == 0x7f || !visible(r) {
			return true
		}
	}
	return false
}

// appendQuotedIfNeeded appends s escaped, between double quotes when
// [needsQuotes] says so for delims.
func appendQuotedIfNeeded(b []byte, s string, limit int, delims string) []byte {
	if !needsQuotes(s, delims) {
		return appendEscaped(b, s, limit, false)
	}
	b = append(b, '"')
	b = appendEscaped(b, s, limit, true)
	return append(b, '"')
}
