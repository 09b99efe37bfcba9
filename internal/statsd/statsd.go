// Package statsd parses the statsd lines guests send as metrics (format 1
// of the Observe API's metric function), with sample rates and DogStatsD
// tags, without allocating.
package statsd

import (
	"errors"
	"math"
	"strconv"
	"strings"

	"github.com/extism-observe/observe/internal/tags"
)

// Kind is the instrument a statsd line asks for, from its type field.
type Kind uint8

const (
	Counter      Kind = iota + 1 // c
	Gauge                        // g
	Timer                        // ms
	Histogram                    // h
	Distribution                 // d
	Set                          // s
)

// String returns the name used in logs, which users know better than the
// one-letter statsd type.
func (k Kind) String() string {
	switch k {
	case Counter:
		return "counter"
	case Gauge:
		return "gauge"
	case Timer:
		return "timer"
	case Histogram:
		return "histogram"
	case Distribution:
		return "distribution"
	case Set:
		return "set"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Errors for a malformed statsd line. They are sentinels so that rejecting a
// line allocates nothing, and their messages are written to be read in a log
// next to the offending line.
var (
	ErrNoColon     = errors.New("missing ':' between name and value")
	ErrEmptyName   = errors.New("empty metric name before ':'")
	ErrBadName     = errors.New("name is not a valid OpenTelemetry instrument name (letters, digits, '_', '.', '-', '/'; starts with a letter; at most 255)")
	ErrNoType      = errors.New("missing '|type'")
	ErrBadValue    = errors.New("value is not a finite number")
	ErrUnknownType = errors.New("unknown metric type (want c, g, ms, h, d or s)")
	ErrNegative    = errors.New("counters, timers, histograms and distributions take no negative values")
	ErrBadRate     = errors.New("sample rate must be a number in (0, 1]")
)

// Line is one parsed statsd line. Its strings point into the line, so
// parsing allocates nothing.
type Line struct {
	Name     string  // substring of the input
	Value    float64 // finite
	Relative bool    // gauge value written with an explicit sign (+n / -n): add to the current value
	Kind     Kind
	Rate     float64 // sample rate in (0, 1]; 1 when absent
	Tags     string  // raw DogStatsD tag list after '#', substring of the input; "" when absent; iterate with tags.Scanner
}

// Parse parses one line (no '\n'; a trailing '\r' is ignored):
//
//	name:value|type[|@rate][|#k:v,k2:v2]
//
// The optional sections may come in either order; when one is repeated the
// last wins. Other sections (DogStatsD "c:container-id", "T1700000000") are
// ignored, so that guests written for newer agents still get their metrics
// through. Spaces and tabs around the name, value, type and sections are
// tolerated.
func Parse(line string) (Line, error) {
	var l Line
	err := l.Read(line)
	return l, err
}

// Read sets l to what Parse returns for line. It spares the copy of a Line
// that returning one costs, a third of reading a simple line.
func (l *Line) Read(line string) error {
	if parseSimple(l, line) {
		return nil
	}
	var err error
	*l, err = parse(line)
	return err
}

// ReadNamed is Read for a line known to start with a valid metric name n
// bytes long and a ':', as a line of the metric a caller read last does
// (see HasName). It does not read the name again.
func (l *Line) ReadNamed(line string, n int) error {
	if simpleValue(l, line, n) {
		return nil
	}
	var err error
	*l, err = parseAfterName(line[:n], strings.TrimSuffix(line[n+1:], "\r"))
	return err
}

// HasName reports whether line starts with name and a ':'. For a valid
// name, ReadNamed(line, len(name)) then reads line.
func HasName(line, name string) bool {
	return len(line) > len(name) && line[len(name)] == ':' && line[:len(name)] == name
}

// parseSimple reads, in one pass, the form of most lines: a name, ':', an
// unsigned decimal of at most 15 digits ("1", "12.5"), '|', and the type,
// with nothing around or after them. It reports false for anything else,
// which parse reads (FuzzParseStatsdLine checks that both agree). It sets
// l only when it reports true.
func parseSimple(l *Line, line string) bool {
	n := len(line)
	if n == 0 || nameBytes[line[0]] != nameLetter {
		return false
	}
	i := 1
	for i < n && nameBytes[line[i]] != 0 {
		i++
	}
	if i >= n || i > 255 || line[i] != ':' {
		return false
	}
	return simpleValue(l, line, i)
}

// simpleValue is parseSimple after the name, which ends at the ':' at i.
//
// The value is exact: its digits, below 2^53, and the power of ten that
// divides them, at most 10^15, are both exact in a float64, and the
// division of two exact float64s is correctly rounded, as ParseFloat's
// result is.
func simpleValue(l *Line, line string, colon int) bool {
	n := len(line)
	i := colon + 1
	var v int64
	digits, fraction := 0, -1 // fraction: digits after the '.', when there is one
	for ; i < n; i++ {
		c := line[i]
		switch {
		case '0' <= c && c <= '9':
			v = v*10 + int64(c-'0')
			digits++
			if fraction >= 0 {
				fraction++
			}
			continue
		case c == '.' && fraction < 0:
			fraction = 0
			continue
		}
		break
	}
	if digits == 0 || digits > 15 || i >= n || line[i] != '|' {
		return false
	}
	kind := kindOf(line[i+1:])
	if kind == 0 {
		return false
	}
	value := float64(v)
	if fraction > 0 {
		value /= pow10[fraction]
	}
	// Field by field: a struct literal stored through l is a typedmemmove,
	// which cost half as much as the rest of the line.
	l.Name, l.Value, l.Relative, l.Kind, l.Rate, l.Tags = line[:colon], value, false, kind, 1, ""
	return true
}

var pow10 = [16]float64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15}

// parse is Parse, for every form.
func parse(line string) (Line, error) {
	line = strings.TrimSuffix(line, "\r")
	name, rest, found := cut(line, ':')
	if !found {
		return Line{}, ErrNoColon
	}
	name = tags.TrimSpacesTabs(name)
	if name == "" {
		return Line{}, ErrEmptyName
	}
	if !ValidName(name) {
		return Line{}, ErrBadName
	}
	return parseAfterName(name, rest)
}

// parseAfterName is parse after the name and its ':', with the '\r' that
// may end the line removed.
func parseAfterName(name, rest string) (Line, error) {
	value, rest, found := cut(rest, '|')
	if !found {
		return Line{}, ErrNoType
	}
	value = tags.TrimSpacesTabs(value)
	v, ok := parseValue(value)
	if !ok {
		return Line{}, ErrBadValue
	}
	typ, sections, _ := cut(rest, '|')
	typ = tags.TrimSpacesTabs(typ)
	if typ == "" {
		return Line{}, ErrNoType
	}
	kind := kindOf(typ)
	if kind == 0 {
		return Line{}, ErrUnknownType
	}
	// statsd reads a signed gauge as a change, not a new value: a gauge
	// cannot be set below zero in one line.
	relative := kind == Gauge && (value[0] == '+' || value[0] == '-')
	if v < 0 && kind != Gauge && kind != Set {
		// These only ever count or measure something that happened.
		return Line{}, ErrNegative
	}
	l := Line{Name: name, Value: v, Relative: relative, Kind: kind, Rate: 1}
	for sections != "" {
		var sec string
		sec, sections, _ = cut(sections, '|')
		sec = tags.TrimSpacesTabs(sec)
		if sec == "" {
			continue
		}
		switch sec[0] {
		case '@':
			r, err := strconv.ParseFloat(tags.TrimSpacesTabs(sec[1:]), 64)
			// Written so that NaN fails too.
			if err != nil || !(r > 0 && r <= 1) {
				return Line{}, ErrBadRate
			}
			l.Rate = r
		case '#':
			l.Tags = sec[1:]
		}
	}
	return l, nil
}

// kindOf returns the kind of a statsd type field, 0 when there is none.
func kindOf(typ string) Kind {
	switch typ {
	case "c":
		return Counter
	case "g":
		return Gauge
	case "ms":
		return Timer
	case "h":
		return Histogram
	case "d":
		return Distribution
	case "s":
		return Set
	}
	return 0
}

// cut is strings.Cut with a separator of one byte, which goes straight to
// strings.IndexByte.
func cut(s string, sep byte) (before, after string, found bool) {
	if i := strings.IndexByte(s, sep); i >= 0 {
		return s[:i], s[i+1:], true
	}
	return s, "", false
}

// parseValue parses a finite statsd value. A decimal integer of at most 15
// digits, with or without a sign, the value of most lines, is read here
// (exactly: it is below 2^53); anything else by strconv.ParseFloat.
func parseValue(s string) (float64, bool) {
	digits := s
	if len(digits) > 0 && (digits[0] == '+' || digits[0] == '-') {
		digits = digits[1:]
	}
	if n := len(digits); n > 0 && n <= 15 {
		var v int64
		i := 0
		for ; i < n && '0' <= digits[i] && digits[i] <= '9'; i++ {
			v = v*10 + int64(digits[i]-'0')
		}
		if i == n {
			f := float64(v)
			if s[0] == '-' {
				f = -f
			}
			return f, true
		}
	}
	v, err := strconv.ParseFloat(s, 64)
	return v, err == nil && !math.IsInf(v, 0) && !math.IsNaN(v)
}

// Next splits a payload of '\n'-joined lines: it returns the first
// line and the rest, and ok=false at the end. Lines holding nothing but
// spaces, tabs or '\r' are skipped, so a trailing newline or a CRLF blank
// line is not reported as a bad metric.
func Next(payload string) (line, rest string, ok bool) {
	for payload != "" {
		line, payload, _ = cut(payload, '\n')
		for i := 0; i < len(line); i++ {
			if c := line[i]; c != ' ' && c != '\t' && c != '\r' {
				return line, payload, true
			}
		}
	}
	return "", "", false
}

// ValidName reports whether name is a valid OpenTelemetry instrument
// name: 1..255 chars, first an ASCII letter, then ASCII letters, digits, '_',
// '.', '-', '/'. The OTel SDK reports an error for any other name; checking
// here lets the guest's line be dropped with a message that says why.
func ValidName(name string) bool {
	if len(name) == 0 || len(name) > 255 || nameBytes[name[0]] != nameLetter {
		return false
	}
	for i := 1; i < len(name); i++ {
		if nameBytes[name[i]] == 0 {
			return false
		}
	}
	return true
}

// nameBytes classes the bytes of instrument names for ValidName: letters
// may come first, the others only after.
var nameBytes = func() (t [256]uint8) {
	for c := range 256 {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
			t[c] = nameLetter
		case '0' <= c && c <= '9', c == '_', c == '.', c == '-', c == '/':
			t[c] = nameOther
		}
	}
	return t
}()

const (
	nameLetter = 1 + iota
	nameOther
)
