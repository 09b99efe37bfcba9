package observe

import (
	"errors"
	"math"
	"strconv"
	"strings"
)

// metricKind is the instrument a statsd line asks for, from its type field.
type metricKind uint8

const (
	kindCounter      metricKind = iota + 1 // c
	kindGauge                              // g
	kindTimer                              // ms
	kindHistogram                          // h
	kindDistribution                       // d
	kindSet                                // s
)

// String returns the name used in logs, which users know better than the
// one-letter statsd type.
func (k metricKind) String() string {
	switch k {
	case kindCounter:
		return "counter"
	case kindGauge:
		return "gauge"
	case kindTimer:
		return "timer"
	case kindHistogram:
		return "histogram"
	case kindDistribution:
		return "distribution"
	case kindSet:
		return "set"
	}
	return "metricKind(" + strconv.Itoa(int(k)) + ")"
}

// Errors for a malformed statsd line. They are sentinels so that rejecting a
// line allocates nothing, and their messages are written to be read in a log
// next to the offending line.
var (
	errStatsdNoColon     = errors.New("missing ':' between name and value")
	errStatsdEmptyName   = errors.New("empty metric name before ':'")
	errStatsdBadName     = errors.New("name is not a valid OpenTelemetry instrument name (letters, digits, '_', '.', '-', '/'; starts with a letter; at most 255)")
	errStatsdNoType      = errors.New("missing '|type'")
	errStatsdBadValue    = errors.New("value is not a finite number")
	errStatsdUnknownType = errors.New("unknown metric type (want c, g, ms, h, d or s)")
	errStatsdNegative    = errors.New("counters, timers, histograms and distributions take no negative values")
	errStatsdBadRate     = errors.New("sample rate must be a number in (0, 1]")
)

// statsdLine is one parsed statsd line. Its strings point into the line, so
// parsing allocates nothing.
type statsdLine struct {
	name     string  // substring of the input
	value    float64 // finite
	relative bool    // gauge value written with an explicit sign (+n / -n): add to the current value
	kind     metricKind
	rate     float64 // sample rate in (0, 1]; 1 when absent
	tags     string  // raw DogStatsD tag list after '#', substring of the input; "" when absent; iterate with tagScanner
}

// parseStatsdLine parses one line (no '\n'; a trailing '\r' is ignored):
//
//	name:value|type[|@rate][|#k:v,k2:v2]
//
// The optional sections may come in either order; when one is repeated the
// last wins. Other sections (DogStatsD "c:container-id", "T1700000000") are
// ignored, so that guests written for newer agents still get their metrics
// through. Spaces and tabs around the name, value, type and sections are
// tolerated.
func parseStatsdLine(line string) (statsdLine, error) {
	line = strings.TrimSuffix(line, "\r")
	name, rest, found := strings.Cut(line, ":")
	if !found {
		return statsdLine{}, errStatsdNoColon
	}
	name = trimSpacesTabs(name)
	if name == "" {
		return statsdLine{}, errStatsdEmptyName
	}
	if !validMetricName(name) {
		return statsdLine{}, errStatsdBadName
	}
	value, rest, found := strings.Cut(rest, "|")
	if !found {
		return statsdLine{}, errStatsdNoType
	}
	value = trimSpacesTabs(value)
	v, err := strconv.ParseFloat(value, 64)
	if err != nil || math.IsInf(v, 0) || math.IsNaN(v) {
		return statsdLine{}, errStatsdBadValue
	}
	typ, sections, _ := strings.Cut(rest, "|")
	var kind metricKind
	switch trimSpacesTabs(typ) {
	case "":
		return statsdLine{}, errStatsdNoType
	case "c":
		kind = kindCounter
	case "g":
		kind = kindGauge
	case "ms":
		kind = kindTimer
	case "h":
		kind = kindHistogram
	case "d":
		kind = kindDistribution
	case "s":
		kind = kindSet
	default:
		return statsdLine{}, errStatsdUnknownType
	}
	// statsd reads a signed gauge as a change, not a new value: a gauge
	// cannot be set below zero in one line.
	relative := kind == kindGauge && (value[0] == '+' || value[0] == '-')
	if v < 0 && kind != kindGauge && kind != kindSet {
		// These only ever count or measure something that happened.
		return statsdLine{}, errStatsdNegative
	}
	l := statsdLine{name: name, value: v, relative: relative, kind: kind, rate: 1}
	for sections != "" {
		var sec string
		sec, sections, _ = strings.Cut(sections, "|")
		sec = trimSpacesTabs(sec)
		if sec == "" {
			continue
		}
		switch sec[0] {
		case '@':
			r, err := strconv.ParseFloat(trimSpacesTabs(sec[1:]), 64)
			// Written so that NaN fails too.
			if err != nil || !(r > 0 && r <= 1) {
				return statsdLine{}, errStatsdBadRate
			}
			l.rate = r
		case '#':
			l.tags = sec[1:]
		}
	}
	return l, nil
}

// nextStatsdLine splits a payload of '\n'-joined lines: it returns the first
// line and the rest, and ok=false at the end. Lines holding nothing but
// spaces, tabs or '\r' are skipped, so a trailing newline or a CRLF blank
// line is not reported as a bad metric.
func nextStatsdLine(payload string) (line, rest string, ok bool) {
	for payload != "" {
		line, payload, _ = strings.Cut(payload, "\n")
		for i := 0; i < len(line); i++ {
			if c := line[i]; c != ' ' && c != '\t' && c != '\r' {
				return line, payload, true
			}
		}
	}
	return "", "", false
}

// validMetricName reports whether name is a valid OpenTelemetry instrument
// name: 1..255 chars, first an ASCII letter, then ASCII letters, digits, '_',
// '.', '-', '/'. The OTel SDK reports an error for any other name; checking
// here lets the guest's line be dropped with a message that says why.
func validMetricName(name string) bool {
	if len(name) == 0 || len(name) > 255 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case i > 0 && ('0' <= c && c <= '9' || c == '_' || c == '.' || c == '-' || c == '/'):
		default:
			return false
		}
	}
	return true
}
