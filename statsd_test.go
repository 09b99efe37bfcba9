package observe

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
)

var long255 = "a" + strings.Repeat("b", 254)

var statsdLineTests = []struct {
	name string
	in   string
	want statsdLine
	err  error
}{
	// Every type.
	{"counter", "hits:1|c", statsdLine{name: "hits", value: 1, kind: kindCounter, rate: 1}, nil},
	{"counter zero", "hits:0|c", statsdLine{name: "hits", value: 0, kind: kindCounter, rate: 1}, nil},
	{"counter plus sign is not relative", "hits:+2|c", statsdLine{name: "hits", value: 2, kind: kindCounter, rate: 1}, nil},
	{"gauge", "temp:21.5|g", statsdLine{name: "temp", value: 21.5, kind: kindGauge, rate: 1}, nil},
	{"timer", "latency:12.5|ms", statsdLine{name: "latency", value: 12.5, kind: kindTimer, rate: 1}, nil},
	{"histogram", "size:512|h", statsdLine{name: "size", value: 512, kind: kindHistogram, rate: 1}, nil},
	{"distribution", "dist:0.25|d", statsdLine{name: "dist", value: 0.25, kind: kindDistribution, rate: 1}, nil},
	{"set", "users:42|s", statsdLine{name: "users", value: 42, kind: kindSet, rate: 1}, nil},
	{"set negative", "users:-7|s", statsdLine{name: "users", value: -7, kind: kindSet, rate: 1}, nil},

	// Relative gauges.
	{"gauge add", "temp:+5|g", statsdLine{name: "temp", value: 5, relative: true, kind: kindGauge, rate: 1}, nil},
	{"gauge subtract", "temp:-3|g", statsdLine{name: "temp", value: -3, relative: true, kind: kindGauge, rate: 1}, nil},
	{"gauge add zero", "temp:+0|g", statsdLine{name: "temp", value: 0, relative: true, kind: kindGauge, rate: 1}, nil},
	{"gauge subtract fraction", "temp:-0.5|g", statsdLine{name: "temp", value: -0.5, relative: true, kind: kindGauge, rate: 1}, nil},
	{"gauge padded sign", "temp: -3 |g", statsdLine{name: "temp", value: -3, relative: true, kind: kindGauge, rate: 1}, nil},

	// Number syntax strconv accepts.
	{"exponent", "x:1.5e3|c", statsdLine{name: "x", value: 1500, kind: kindCounter, rate: 1}, nil},
	{"hex float", "x:0x1p-2|d", statsdLine{name: "x", value: 0.25, kind: kindDistribution, rate: 1}, nil},
	{"largest float", "x:1.7976931348623157e308|g", statsdLine{name: "x", value: math.MaxFloat64, kind: kindGauge, rate: 1}, nil},

	// Optional sections.
	{"rate", "hits:1|c|@0.1", statsdLine{name: "hits", value: 1, kind: kindCounter, rate: 0.1}, nil},
	{"rate one", "hits:1|c|@1", statsdLine{name: "hits", value: 1, kind: kindCounter, rate: 1}, nil},
	{"tags", "hits:1|c|#env:prod,cached", statsdLine{name: "hits", value: 1, kind: kindCounter, rate: 1, tags: "env:prod,cached"}, nil},
	{"tags with colons in values", "req:1|c|#url:https://example.com:8443/a?b=c,region:eu",
		statsdLine{name: "req", value: 1, kind: kindCounter, rate: 1, tags: "url:https://example.com:8443/a?b=c,region:eu"}, nil},
	{"rate then tags", "lat:3|ms|@0.5|#a:b", statsdLine{name: "lat", value: 3, kind: kindTimer, rate: 0.5, tags: "a:b"}, nil},
	{"tags then rate", "lat:3|ms|#a:b|@0.5", statsdLine{name: "lat", value: 3, kind: kindTimer, rate: 0.5, tags: "a:b"}, nil},
	{"empty tags", "hits:1|c|#", statsdLine{name: "hits", value: 1, kind: kindCounter, rate: 1}, nil},
	{"repeated sections last wins", "hits:1|c|@0.5|#a:1|@0.25|#b:2", statsdLine{name: "hits", value: 1, kind: kindCounter, rate: 0.25, tags: "b:2"}, nil},
	{"unknown sections ignored", "hits:1|c|c:abc123|T1700000000|#a:b|e:x",
		statsdLine{name: "hits", value: 1, kind: kindCounter, rate: 1, tags: "a:b"}, nil},
	{"empty sections ignored", "hits:1|c||@0.5||", statsdLine{name: "hits", value: 1, kind: kindCounter, rate: 0.5}, nil},

	// Padding and line ends.
	{"trailing CR", "hits:1|c\r", statsdLine{name: "hits", value: 1, kind: kindCounter, rate: 1}, nil},
	{"trailing CR after tags", "hits:1|c|#a:b\r", statsdLine{name: "hits", value: 1, kind: kindCounter, rate: 1, tags: "a:b"}, nil},
	{"spaces and tabs", " hits\t: 1 | c | @0.5 |\t#a:b ", statsdLine{name: "hits", value: 1, kind: kindCounter, rate: 0.5, tags: "a:b"}, nil},

	// Names.
	{"every name character", "a.B_c-9/x:1|c", statsdLine{name: "a.B_c-9/x", value: 1, kind: kindCounter, rate: 1}, nil},
	{"name of 255", long255 + ":1|c", statsdLine{name: long255, value: 1, kind: kindCounter, rate: 1}, nil},

	// Errors, in the order the parser meets them.
	{"empty line", "", statsdLine{}, errStatsdNoColon},
	{"no colon", "hits", statsdLine{}, errStatsdNoColon},
	{"no colon with type", "hits|c", statsdLine{}, errStatsdNoColon},
	{"empty name", ":1|c", statsdLine{}, errStatsdEmptyName},
	{"blank name", " \t:1|c", statsdLine{}, errStatsdEmptyName},
	{"name starts with digit", "1hits:1|c", statsdLine{}, errStatsdBadName},
	{"name starts with underscore", "_hits:1|c", statsdLine{}, errStatsdBadName},
	{"name with space", "a b:1|c", statsdLine{}, errStatsdBadName},
	{"name with non-ASCII letter", "hé:1|c", statsdLine{}, errStatsdBadName},
	{"pipe before colon", "hits|c:1", statsdLine{}, errStatsdBadName},
	{"name of 256", long255 + "b:1|c", statsdLine{}, errStatsdBadName},
	{"no type", "hits:1", statsdLine{}, errStatsdNoType},
	{"empty value", "hits:|c", statsdLine{}, errStatsdBadValue},
	{"word value", "hits:abc|c", statsdLine{}, errStatsdBadValue},
	{"comma decimal", "hits:1,5|c", statsdLine{}, errStatsdBadValue},
	{"double sign", "temp:+-1|g", statsdLine{}, errStatsdBadValue},
	{"NaN", "temp:NaN|g", statsdLine{}, errStatsdBadValue},
	{"Inf", "temp:Inf|g", statsdLine{}, errStatsdBadValue},
	{"minus Inf", "temp:-Inf|g", statsdLine{}, errStatsdBadValue},
	{"out of range", "hits:1e999|c", statsdLine{}, errStatsdBadValue},
	{"empty type", "hits:1|", statsdLine{}, errStatsdNoType},
	{"blank type", "hits:1| |@0.5", statsdLine{}, errStatsdNoType},
	{"unknown type", "hits:1|x", statsdLine{}, errStatsdUnknownType},
	{"upper-case type", "hits:1|C", statsdLine{}, errStatsdUnknownType},
	{"type prefix", "lat:1|m", statsdLine{}, errStatsdUnknownType},
	{"type with more", "lat:1|msx", statsdLine{}, errStatsdUnknownType},
	{"type then newline", "hits:1|c\n", statsdLine{}, errStatsdUnknownType},
	{"negative counter", "hits:-1|c", statsdLine{}, errStatsdNegative},
	{"negative timer", "lat:-1|ms", statsdLine{}, errStatsdNegative},
	{"negative histogram", "size:-1|h", statsdLine{}, errStatsdNegative},
	{"negative distribution", "dist:-0.5|d", statsdLine{}, errStatsdNegative},
	{"zero rate", "hits:1|c|@0", statsdLine{}, errStatsdBadRate},
	{"negative rate", "hits:1|c|@-0.5", statsdLine{}, errStatsdBadRate},
	{"rate above one", "hits:1|c|@1.5", statsdLine{}, errStatsdBadRate},
	{"empty rate", "hits:1|c|@", statsdLine{}, errStatsdBadRate},
	{"word rate", "hits:1|c|@abc", statsdLine{}, errStatsdBadRate},
	{"NaN rate", "hits:1|c|@NaN", statsdLine{}, errStatsdBadRate},
	{"Inf rate", "hits:1|c|@Inf", statsdLine{}, errStatsdBadRate},
	{"bad rate after tags", "hits:1|c|#a:b|@2", statsdLine{}, errStatsdBadRate},
}

var statsdErrors = []error{
	errStatsdNoColon, errStatsdEmptyName, errStatsdBadName, errStatsdNoType,
	errStatsdBadValue, errStatsdUnknownType, errStatsdNegative, errStatsdBadRate,
}

func TestParseStatsdLine(t *testing.T) {
	for _, tt := range statsdLineTests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseStatsdLine(tt.in)
			if err != tt.err {
				t.Fatalf("parseStatsdLine(%q) error = %v, want %v", tt.in, err, tt.err)
			}
			if got != tt.want {
				t.Errorf("parseStatsdLine(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
			if !inString(got.name, tt.in) || !inString(got.tags, tt.in) {
				t.Errorf("parseStatsdLine(%q) returned strings that are not substrings of the input", tt.in)
			}
		})
	}
}

func TestParseStatsdLineAllocs(t *testing.T) {
	const line = "http.server.duration:12.5|ms|@0.5|#http.method:GET,http.url:https://example.com:8443/a?b=c,cached\r"
	n := testing.AllocsPerRun(100, func() {
		l, err := parseStatsdLine(line)
		if err != nil {
			t.Fatal(err)
		}
		ts := tagScanner{l.tags}
		for {
			k, v, _, ok := ts.next()
			if !ok {
				break
			}
			tagSink += len(k) + len(v)
		}
	})
	if n != 0 {
		t.Errorf("parsing a line and its tags allocates %v times, want 0", n)
	}
}

func TestMetricKindString(t *testing.T) {
	for k, want := range map[metricKind]string{
		kindCounter:      "counter",
		kindGauge:        "gauge",
		kindTimer:        "timer",
		kindHistogram:    "histogram",
		kindDistribution: "distribution",
		kindSet:          "set",
		0:                "metricKind(0)",
		200:              "metricKind(200)",
	} {
		if got := k.String(); got != want {
			t.Errorf("metricKind(%d).String() = %q, want %q", uint8(k), got, want)
		}
	}
}

func TestValidMetricName(t *testing.T) {
	for _, tt := range []struct {
		name string
		want bool
	}{
		{"a", true},
		{"Z", true},
		{"http.server.request_duration", true},
		{"a.B_c-9/x", true},
		{long255, true},
		{long255 + "b", false},
		{"", false},
		{"1a", false},
		{"_a", false},
		{".a", false},
		{"/a", false},
		{"-a", false},
		{"a b", false},
		{"a:b", false},
		{"a|b", false},
		{"a,b", false},
		{"ä", false},
		{"a\x00", false},
	} {
		if got := validMetricName(tt.name); got != tt.want {
			t.Errorf("validMetricName(%q) = %v, want %v", tt.name, got, tt.want)
		}
	}
}

var nextStatsdLineTests = []struct {
	name    string
	payload string
	want    []string
}{
	{"empty", "", nil},
	{"one line", "a:1|c", []string{"a:1|c"}},
	{"trailing newline", "a:1|c\n", []string{"a:1|c"}},
	{"two lines", "a:1|c\nb:2|g", []string{"a:1|c", "b:2|g"}},
	{"empty lines skipped", "\n\na:1|c\n\n\nb:2|g\n\n", []string{"a:1|c", "b:2|g"}},
	{"CRLF", "a:1|c\r\n\r\nb:2|g\r\n", []string{"a:1|c\r", "b:2|g\r"}},
	{"blank lines skipped", " \t\n\r\n \r \n", nil},
	{"bad lines kept", "bad\n:\n", []string{"bad", ":"}},
	{"padded line kept whole", " a:1|c \n", []string{" a:1|c "}},
}

func TestNextStatsdLine(t *testing.T) {
	for _, tt := range nextStatsdLineTests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			rest := tt.payload
			for {
				line, r, ok := nextStatsdLine(rest)
				if !ok {
					if line != "" || r != "" {
						t.Errorf("at the end nextStatsdLine returned (%q, %q)", line, r)
					}
					break
				}
				got, rest = append(got, line), r
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("lines of %q = %q, want %q", tt.payload, got, tt.want)
			}
		})
	}
}

func TestNextStatsdLineAllocs(t *testing.T) {
	const payload = "a:1|c\nb:2|g\r\n\nc:3|ms|#k:v\n"
	n := testing.AllocsPerRun(100, func() {
		for rest := payload; ; {
			line, r, ok := nextStatsdLine(rest)
			if !ok {
				break
			}
			l, err := parseStatsdLine(line)
			if err != nil {
				t.Fatal(err)
			}
			tagSink += len(l.name)
			rest = r
		}
	})
	if n != 0 {
		t.Errorf("splitting and parsing a payload allocates %v times, want 0", n)
	}
}

var statsdTypes = map[metricKind]string{
	kindCounter: "c", kindGauge: "g", kindTimer: "ms",
	kindHistogram: "h", kindDistribution: "d", kindSet: "s",
}

// FuzzParseStatsdLine checks the invariants of every result and that a
// parsed line, written out again, parses to the same thing.
func FuzzParseStatsdLine(f *testing.F) {
	for _, tt := range statsdLineTests {
		f.Add(tt.in)
	}
	f.Fuzz(func(t *testing.T, line string) {
		l, err := parseStatsdLine(line)
		if err != nil {
			if !slices.Contains(statsdErrors, err) {
				t.Fatalf("parseStatsdLine(%q) returned an error that is not a sentinel: %v", line, err)
			}
			if l != (statsdLine{}) {
				t.Fatalf("parseStatsdLine(%q) failed but returned %+v", line, l)
			}
			return
		}
		switch {
		case !validMetricName(l.name):
			t.Errorf("invalid name %q", l.name)
		case !inString(l.name, line) || !inString(l.tags, line):
			t.Errorf("name %q or tags %q are not substrings of %q", l.name, l.tags, line)
		case math.IsNaN(l.value) || math.IsInf(l.value, 0):
			t.Errorf("value %v is not finite", l.value)
		case !(l.rate > 0 && l.rate <= 1):
			t.Errorf("rate %v is out of (0, 1]", l.rate)
		case statsdTypes[l.kind] == "":
			t.Errorf("kind %d is unknown", l.kind)
		case l.relative && l.kind != kindGauge:
			t.Errorf("%v is relative", l.kind)
		case l.value < 0 && l.kind != kindGauge && l.kind != kindSet:
			t.Errorf("%v has negative value %v", l.kind, l.value)
		case l.kind == kindGauge && !l.relative && math.Signbit(l.value):
			t.Errorf("absolute gauge has negative value %v", l.value)
		case strings.Contains(l.tags, "|"):
			t.Errorf("tags %q hold a section separator", l.tags)
		}

		value := strconv.FormatFloat(l.value, 'g', -1, 64)
		if l.relative && !math.Signbit(l.value) {
			value = "+" + value
		}
		again := l.name + ":" + value + "|" + statsdTypes[l.kind] + "|#" + l.tags +
			"|@" + strconv.FormatFloat(l.rate, 'g', -1, 64)
		l2, err := parseStatsdLine(again)
		if err != nil || l2 != l {
			t.Errorf("%q parsed to %+v; written out as %q it parses to %+v, %v", line, l, again, l2, err)
		}
	})
}

// FuzzNextStatsdLine checks the splitter against strings.Split.
func FuzzNextStatsdLine(f *testing.F) {
	for _, tt := range nextStatsdLineTests {
		f.Add(tt.payload)
	}
	f.Add(strings.Join([]string{statsdLineTests[0].in, statsdLineTests[1].in, "", " ", "\r"}, "\n"))
	f.Fuzz(func(t *testing.T, payload string) {
		var want []string
		for _, line := range strings.Split(payload, "\n") {
			if strings.Trim(line, " \t\r") != "" {
				want = append(want, line)
			}
		}

		var got []string
		rest := payload
		for range strings.Count(payload, "\n") + 2 {
			line, r, ok := nextStatsdLine(rest)
			if !ok {
				rest = r
				break
			}
			switch {
			case !inString(line, rest) || !strings.HasSuffix(rest, r) || !inString(r, rest):
				t.Fatalf("nextStatsdLine(%q) = (%q, %q): not parts of the input", rest, line, r)
			case len(r) >= len(rest):
				t.Fatalf("nextStatsdLine(%q) made no progress", rest)
			}
			parseStatsdLine(line) // must not panic
			got, rest = append(got, line), r
		}
		if rest != "" {
			t.Fatalf("splitting %q did not end", payload)
		}
		if !slices.Equal(got, want) {
			t.Errorf("lines of %q = %q, want %q", payload, got, want)
		}
	})
}

func BenchmarkParseStatsdLine(b *testing.B) {
	for _, bm := range []struct{ name, line string }{
		{"counter", "hits:1|c"},
		{"dogstatsd", "http.server.duration:12.5|ms|@0.5|#http.method:GET,http.url:https://example.com:8443/a?b=c,cached"},
	} {
		b.Run(bm.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(bm.line)))
			for b.Loop() {
				l, err := parseStatsdLine(bm.line)
				if err != nil {
					b.Fatal(err)
				}
				tagSink += len(l.tags)
			}
		})
	}
}
