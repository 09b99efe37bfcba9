package stdout

import (
	"encoding/base64"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
)

// ANSI styles. Text from plugins is escaped before it is written, so these
// are the only escape sequences the exporters ever write.
const (
	styleReset   = "\x1b[0m"
	styleBold    = "\x1b[1m"
	styleDim     = "\x1b[2m"
	styleRed     = "\x1b[31m"
	styleGreen   = "\x1b[32m"
	styleYellow  = "\x1b[33m"
	styleBlue    = "\x1b[34m"
	styleMagenta = "\x1b[35m"
	styleCyan    = "\x1b[36m"
)

// printer builds the text of one Write.
type printer struct {
	b     []byte
	color bool
}

func (p *printer) open(style string) {
	if p.color {
		p.b = append(p.b, style...)
	}
}

func (p *printer) close() {
	if p.color {
		p.b = append(p.b, styleReset...)
	}
}

// raw appends s, which the exporter wrote itself, in style ("" for none).
func (p *printer) raw(style, s string) {
	if style == "" || s == "" {
		p.b = append(p.b, s...)
		return
	}
	p.open(style)
	p.b = append(p.b, s...)
	p.close()
}

// text appends untrusted s, escaped and cut to limit runes, in style ("" for
// none).
func (p *printer) text(style, s string, limit int) {
	if style == "" {
		p.b = appendEscaped(p.b, s, limit, false)
		return
	}
	p.open(style)
	p.b = appendEscaped(p.b, s, limit, false)
	p.close()
}

// attrs appends " key=value" for each attribute, sorted by key. kvs is not
// modified.
func (p *printer) attrs(kvs []attribute.KeyValue) {
	if len(kvs) == 0 {
		return
	}
	sorted := slices.Clone(kvs)
	slices.SortStableFunc(sorted, func(a, b attribute.KeyValue) int {
		return strings.Compare(string(a.Key), string(b.Key))
	})
	for _, kv := range sorted {
		p.b = append(p.b, ' ')
		p.attr(kv)
	}
}

func (p *printer) attr(kv attribute.KeyValue) {
	p.open(styleCyan)
	p.b = appendQuotedIfNeeded(p.b, string(kv.Key), maxTextRunes, valueDelims)
	p.close()
	p.b = append(p.b, '=')
	p.b = appendValue(p.b, kv.Value, 0)
}

// maxValueDepth bounds how deeply nested slice and map values are shown.
const maxValueDepth = 8

// appendValue appends v as a value of key=value: strings quoted when
// [needsQuotes] says so, lists as [a,b], maps as {k=v,...} with keys sorted.
func appendValue(b []byte, v attribute.Value, depth int) []byte {
	switch v.Type() {
	case attribute.BOOL:
		return strconv.AppendBool(b, v.AsBool())
	case attribute.INT64:
		return strconv.AppendInt(b, v.AsInt64(), 10)
	case attribute.FLOAT64:
		return appendFloat(b, v.AsFloat64())
	case attribute.STRING:
		return appendQuotedIfNeeded(b, v.AsString(), maxTextRunes, valueDelims)
	case attribute.BYTESLICE:
		// base64 has no character that needs escaping.
		s := base64.StdEncoding.EncodeToString(v.AsByteSlice())
		return appendEscaped(b, s, maxTextRunes, false)
	case attribute.BOOLSLICE:
		return appendList(b, v.AsBoolSlice(), func(b []byte, x bool) []byte {
			return strconv.AppendBool(b, x)
		})
	case attribute.INT64SLICE:
		return appendList(b, v.AsInt64Slice(), func(b []byte, x int64) []byte {
			return strconv.AppendInt(b, x, 10)
		})
	case attribute.FLOAT64SLICE:
		return appendList(b, v.AsFloat64Slice(), appendFloat)
	case attribute.STRINGSLICE:
		return appendList(b, v.AsStringSlice(), func(b []byte, x string) []byte {
			return appendQuotedIfNeeded(b, x, maxTextRunes, valueDelims)
		})
	case attribute.SLICE:
		if depth >= maxValueDepth {
			return append(b, "[…]"...)
		}
		return appendList(b, v.AsSlice(), func(b []byte, x attribute.Value) []byte {
			return appendValue(b, x, depth+1)
		})
	case attribute.MAP:
		if depth >= maxValueDepth {
			return append(b, "{…}"...)
		}
		kvs := slices.Clone(v.AsMap())
		slices.SortStableFunc(kvs, func(a, b attribute.KeyValue) int {
			return strings.Compare(string(a.Key), string(b.Key))
		})
		b = append(b, '{')
		for i, kv := range kvs {
			if i > 0 {
				b = append(b, ',')
			}
			if i == maxListItems {
				return append(b, "…}"...)
			}
			b = appendQuotedIfNeeded(b, string(kv.Key), maxTextRunes, valueDelims)
			b = append(b, '=')
			b = appendValue(b, kv.Value, depth+1)
		}
		return append(b, '}')
	}
	return append(b, `""`...) // EMPTY, or a type newer than this code
}

// maxListItems bounds how many items of a list or map value are shown.
const maxListItems = 64

func appendList[T any](b []byte, xs []T, item func([]byte, T) []byte) []byte {
	b = append(b, '[')
	for i, x := range xs {
		if i > 0 {
			b = append(b, ',')
		}
		if i == maxListItems {
			return append(b, "…]"...)
		}
		b = item(b, x)
	}
	return append(b, ']')
}

// appendFloat appends f in plain decimal notation when that is short, else
// in exponent notation.
func appendFloat(b []byte, f float64) []byte {
	if a := math.Abs(f); a == 0 || (a >= 1e-4 && a < 1e21) {
		return strconv.AppendFloat(b, f, 'f', -1, 64)
	}
	return strconv.AppendFloat(b, f, 'g', -1, 64)
}

// formatDuration formats d for people: three significant digits in the
// largest unit that keeps the number at least 1 (850ns, 350µs, 1.2ms,
// 2.01s), and minutes and whole seconds from a minute on (1m30s).
func formatDuration(d time.Duration) string {
	if d <= 0 {
		return "0s"
	}
	if d >= time.Minute {
		return d.Round(time.Second).String()
	}
	// Round to three significant digits first, so that 999.7µs shows as
	// 1ms, not 1000µs.
	if p := pow10Below(d); p > 1 {
		d = (d + p/2) / p * p
	}
	var unit time.Duration
	var suffix string
	switch {
	case d < time.Microsecond:
		return strconv.FormatInt(int64(d), 10) + "ns"
	case d < time.Millisecond:
		unit, suffix = time.Microsecond, "µs"
	case d < time.Second:
		unit, suffix = time.Millisecond, "ms"
	case d < time.Minute:
		unit, suffix = time.Second, "s"
	default:
		return d.String()
	}
	return strconv.FormatFloat(float64(d)/float64(unit), 'f', -1, 64) + suffix
}

// pow10Below returns the power of ten by which d has three significant
// digits left of the point: 1 for d below 1000.
func pow10Below(d time.Duration) time.Duration {
	p := time.Duration(1)
	for d/p >= 1000 {
		p *= 10
	}
	return p
}
