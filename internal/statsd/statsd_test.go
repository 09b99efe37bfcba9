package statsd

import (
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/extism-observe/observe/internal/tags"

	"github.com/extism-observe/observe/internal/testutil"
)

var long255 = "a" + strings.Repeat("b", 254)

var statsdLineTests = []struct {
	name string
	in   string
	want Line
	err  error
}{
	// Every type.
	{"counter", "hits:1|c", Line{Name: "hits", Value: 1, Kind: Counter, Rate: 1}, nil},
	{"counter zero", "hits:0|c", Line{Name: "hits", Value: 0, Kind: Counter, Rate: 1}, nil},
	{"counter plus sign is not relative", "hits:+2|c", Line{Name: "hits", Value: 2, Kind: Counter, Rate: 1}, nil},
	{"gauge", "temp:21.5|g", Line{Name: "temp", Value: 21.5, Kind: Gauge, Rate: 1}, nil},
	{"timer", "latency:12.5|ms", Line{Name: "latency", Value: 12.5, Kind: Timer, Rate: 1}, nil},
	{"histogram", "size:512|h", Line{Name: "size", Value: 512, Kind: Histogram, Rate: 1}, nil},
	{"distribution", "dist:0.25|d", Line{Name: "dist", Value: 0.25, Kind: Distribution, Rate: 1}, nil},
	{"set", "users:42|s", Line{Name: "users", Value: 42, Kind: Set, Rate: 1}, nil},
	{"set negative", "users:-7|s", Line{Name: "users", Value: -7, Kind: Set, Rate: 1}, nil},

	// Relative gauges.
	{"gauge add", "temp:+5|g", Line{Name: "temp", Value: 5, Relative: true, Kind: Gauge, Rate: 1}, nil},
	{"gauge subtract", "temp:-3|g", Line{Name: "temp", Value: -3, Relative: true, Kind: Gauge, Rate: 1}, nil},
	{"gauge add zero", "temp:+0|g", Line{Name: "temp", Value: 0, Relative: true, Kind: Gauge, Rate: 1}, nil},
	{"gauge subtract fraction", "temp:-0.5|g", Line{Name: "temp", Value: -0.5, Relative: true, Kind: Gauge, Rate: 1}, nil},
	{"gauge padded sign", "temp: -3 |g", Line{Name: "temp", Value: -3, Relative: true, Kind: Gauge, Rate: 1}, nil},

	// Number syntax strconv accepts.
	{"exponent", "x:1.5e3|c", Line{Name: "x", Value: 1500, Kind: Counter, Rate: 1}, nil},
	{"hex float", "x:0x1p-2|d", Line{Name: "x", Value: 0.25, Kind: Distribution, Rate: 1}, nil},
	{"largest float", "x:1.7976931348623157e308|g", Line{Name: "x", Value: math.MaxFloat64, Kind: Gauge, Rate: 1}, nil},

	// Optional sections.
	{"rate", "hits:1|c|@0.1", Line{Name: "hits", Value: 1, Kind: Counter, Rate: 0.1}, nil},
	{"rate one", "hits:1|c|@1", Line{Name: "hits", Value: 1, Kind: Counter, Rate: 1}, nil},
	{"tags", "hits:1|c|#env:prod,cached", Line{Name: "hits", Value: 1, Kind: Counter, Rate: 1, Tags: "env:prod,cached"}, nil},
	{"tags with colons in values", "req:1|c|#url:https://example.com:8443/a?b=c,region:eu",
		Line{Name: "req", Value: 1, Kind: Counter, Rate: 1, Tags: "url:https://example.com:8443/a?b=c,region:eu"}, nil},
	{"rate then tags", "lat:3|ms|@0.5|#a:b", Line{Name: "lat", Value: 3, Kind: Timer, Rate: 0.5, Tags: "a:b"}, nil},
	{"tags then rate", "lat:3|ms|#a:b|@0.5", Line{Name: "lat", Value: 3, Kind: Timer, Rate: 0.5, Tags: "a:b"}, nil},
	{"empty tags", "hits:1|c|#", Line{Name: "hits", Value: 1, Kind: Counter, Rate: 1}, nil},
	{"repeated sections last wins", "hits:1|c|@0.5|#a:1|@0.25|#b:2", Line{Name: "hits", Value: 1, Kind: Counter, Rate: 0.25, Tags: "b:2"}, nil},
	{"unknown sections ignored", "hits:1|c|c:abc123|T1700000000|#a:b|e:x",
		Line{Name: "hits", Value: 1, Kind: Counter, Rate: 1, Tags: "a:b"}, nil},
	{"empty sections ignored", "hits:1|c||@0.5||", Line{Name: "hits", Value: 1, Kind: Counter, Rate: 0.5}, nil},

	// Padding and line ends.
	{"trailing CR", "hits:1|c\r", Line{Name: "hits", Value: 1, Kind: Counter, Rate: 1}, nil},
	{"trailing CR after tags", "hits:1|c|#a:b\r", Line{Name: "hits", Value: 1, Kind: Counter, Rate: 1, Tags: "a:b"}, nil},
	{"spaces and tabs", " hits\t: 1 | c | @0.5 |\t#a:b ", Line{Name: "hits", Value: 1, Kind: Counter, Rate: 0.5, Tags: "a:b"}, nil},

	// Names.
	{"every name character", "a.B_c-9/x:1|c", Line{Name: "a.B_c-9/x", Value: 1, Kind: Counter, Rate: 1}, nil},
	{"name of 255", long255 + ":1|c", Line{Name: long255, Value: 1, Kind: Counter, Rate: 1}, nil},

	// Errors, in the order the parser meets them.
	{"empty line", "", Line{}, ErrNoColon},
	{"no colon", "hits", Line{}, ErrNoColon},
	{"no colon with type", "hits|c", Line{}, ErrNoColon},
	{"empty name", ":1|c", Line{}, ErrEmptyName},
	{"blank name", " \t:1|c", Line{}, ErrEmptyName},
	{"name starts with digit", "1hits:1|c", Line{}, ErrBadName},
	{"name starts with underscore", "_hits:1|c", Line{}, ErrBadName},
	{"name with space", "a b:1|c", Line{}, ErrBadName},
	{"name with non-ASCII letter", "hé:1|c", Line{}, ErrBadName},
	{"pipe before colon", "hits|c:1", Line{}, ErrBadName},
	{"name of 256", long255 + "b:1|c", Line{}, ErrBadName},
	{"no type", "hits:1", Line{}, ErrNoType},
	{"empty value", "hits:|c", Line{}, ErrBadValue},
	{"word value", "hits:abc|c", Line{}, ErrBadValue},
	{"comma decimal", "hits:1,5|c", Line{}, ErrBadValue},
	{"double sign", "temp:+-1|g", Line{}, ErrBadValue},
	{"NaN", "temp:NaN|g", Line{}, ErrBadValue},
	{"Inf", "temp:Inf|g", Line{}, ErrBadValue},
	{"minus Inf", "temp:-Inf|g", Line{}, ErrBadValue},
	{"out of range", "hits:1e999|c", Line{}, ErrBadValue},
	{"empty type", "hits:1|", Line{}, ErrNoType},
	{"blank type", "hits:1| |@0.5", Line{}, ErrNoType},
	{"unknown type", "hits:1|x", Line{}, ErrUnknownType},
	{"upper-case type", "hits:1|C", Line{}, ErrUnknownType},
	{"type prefix", "lat:1|m", Line{}, ErrUnknownType},
	{"type with more", "lat:1|msx", Line{}, ErrUnknownType},
	{"type then newline", "hits:1|c\n", Line{}, ErrUnknownType},
	{"negative counter", "hits:-1|c", Line{}, ErrNegative},
	{"negative timer", "lat:-1|ms", Line{}, ErrNegative},
	{"negative histogram", "size:-1|h", Line{}, ErrNegative},
	{"negative distribution", "dist:-0.5|d", Line{}, ErrNegative},
	{"zero rate", "hits:1|c|@0", Line{}, ErrBadRate},
	{"negative rate", "hits:1|c|@-0.5", Line{}, ErrBadRate},
	{"rate above one", "hits:1|c|@1.5", Line{}, ErrBadRate},
	{"empty rate", "hits:1|c|@", Line{}, ErrBadRate},
	{"word rate", "hits:1|c|@abc", Line{}, ErrBadRate},
	{"NaN rate", "hits:1|c|@NaN", Line{}, ErrBadRate},
	{"Inf rate", "hits:1|c|@Inf", Line{}, ErrBadRate},
	{"bad rate after tags", "hits:1|c|#a:b|@2", Line{}, ErrBadRate},
}

var statsdErrors = []error{
	ErrNoColon, ErrEmptyName, ErrBadName, ErrNoType,
	ErrBadValue, ErrUnknownType, ErrNegative, ErrBadRate,
}

func TestParseStatsdLine(t *testing.T) {
	for _, tt := range statsdLineTests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.in)
			if err != tt.err {
				t.Fatalf("Parse(%q) error = %v, want %v", tt.in, err, tt.err)
			}
			if got != tt.want {
				t.Errorf("Parse(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
			if !testutil.Within(got.Name, tt.in) || !testutil.Within(got.Tags, tt.in) {
				t.Errorf("Parse(%q) returned strings that are not substrings of the input", tt.in)
			}
		})
	}
}

func TestParseStatsdLineAllocs(t *testing.T) {
	const line = "http.server.duration:12.5|ms|@0.5|#http.method:GET,http.url:https://example.com:8443/a?b=c,cached\r"
	n := testing.AllocsPerRun(100, func() {
		l, err := Parse(line)
		if err != nil {
			t.Fatal(err)
		}
		ts := tags.Scanner{S: l.Tags}
		for {
			k, v, _, ok := ts.Next()
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
	for k, want := range map[Kind]string{
		Counter:      "counter",
		Gauge:        "gauge",
		Timer:        "timer",
		Histogram:    "histogram",
		Distribution: "distribution",
		Set:          "set",
		0:            "Kind(0)",
		200:          "Kind(200)",
	} {
		if got := k.String(); got != want {
			t.Errorf("Kind(%d).String() = %q, want %q", uint8(k), got, want)
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
		if got := ValidName(tt.name); got != tt.want {
			t.Errorf("ValidName(%q) = %v, want %v", tt.name, got, tt.want)
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
				line, r, ok := Next(rest)
				if !ok {
					if line != "" || r != "" {
						t.Errorf("at the end Next returned (%q, %q)", line, r)
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
			line, r, ok := Next(rest)
			if !ok {
				break
			}
			l, err := Parse(line)
			if err != nil {
				t.Fatal(err)
			}
			tagSink += len(l.Name)
			rest = r
		}
	})
	if n != 0 {
		t.Errorf("splitting and parsing a payload allocates %v times, want 0", n)
	}
}

var statsdTypes = map[Kind]string{
	Counter: "c", Gauge: "g", Timer: "ms",
	Histogram: "h", Distribution: "d", Set: "s",
}

// FuzzParseStatsdLine checks the invariants of every result and that a
// parsed line, written out again, parses to the same thing.
func FuzzParseStatsdLine(f *testing.F) {
	for _, tt := range statsdLineTests {
		f.Add(tt.in)
	}
	f.Fuzz(func(t *testing.T, line string) {
		if fast, ok := simple(line); ok {
			if general, err := parse(line); err != nil || fast != general {
				t.Fatalf("parseSimple(%q) = %+v; parse: %+v, %v", line, fast, general, err)
			}
		}
		l, err := Parse(line)
		// A line that starts with a valid name reads the same when the
		// caller knows the name.
		if name, _, found := strings.Cut(line, ":"); found && ValidName(name) {
			if !HasName(line, name) {
				t.Fatalf("HasName(%q, %q) = false", line, name)
			}
			named := Line{Name: "left over", Rate: 7}
			if nerr := named.ReadNamed(line, len(name)); named != l || nerr != err {
				t.Fatalf("ReadNamed(%q, %d) = %+v, %v; Parse: %+v, %v", line, len(name), named, nerr, l, err)
			}
		}
		if err != nil {
			if !slices.Contains(statsdErrors, err) {
				t.Fatalf("Parse(%q) returned an error that is not a sentinel: %v", line, err)
			}
			if l != (Line{}) {
				t.Fatalf("Parse(%q) failed but returned %+v", line, l)
			}
			return
		}
		switch {
		case !ValidName(l.Name):
			t.Errorf("invalid name %q", l.Name)
		case !testutil.Within(l.Name, line) || !testutil.Within(l.Tags, line):
			t.Errorf("name %q or tags %q are not substrings of %q", l.Name, l.Tags, line)
		case math.IsNaN(l.Value) || math.IsInf(l.Value, 0):
			t.Errorf("value %v is not finite", l.Value)
		case !(l.Rate > 0 && l.Rate <= 1):
			t.Errorf("rate %v is out of (0, 1]", l.Rate)
		case statsdTypes[l.Kind] == "":
			t.Errorf("kind %d is unknown", l.Kind)
		case l.Relative && l.Kind != Gauge:
			t.Errorf("%v is relative", l.Kind)
		case l.Value < 0 && l.Kind != Gauge && l.Kind != Set:
			t.Errorf("%v has negative value %v", l.Kind, l.Value)
		case l.Kind == Gauge && !l.Relative && math.Signbit(l.Value):
			t.Errorf("absolute gauge has negative value %v", l.Value)
		case strings.Contains(l.Tags, "|"):
			t.Errorf("tags %q hold a section separator", l.Tags)
		}

		value := strconv.FormatFloat(l.Value, 'g', -1, 64)
		if l.Relative && !math.Signbit(l.Value) {
			value = "+" + value
		}
		again := l.Name + ":" + value + "|" + statsdTypes[l.Kind] + "|#" + l.Tags +
			"|@" + strconv.FormatFloat(l.Rate, 'g', -1, 64)
		l2, err := Parse(again)
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
			line, r, ok := Next(rest)
			if !ok {
				rest = r
				break
			}
			switch {
			case !testutil.Within(line, rest) || !strings.HasSuffix(rest, r) || !testutil.Within(r, rest):
				t.Fatalf("Next(%q) = (%q, %q): not parts of the input", rest, line, r)
			case len(r) >= len(rest):
				t.Fatalf("Next(%q) made no progress", rest)
			}
			Parse(line) // must not panic
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
				l, err := Parse(bm.line)
				if err != nil {
					b.Fatal(err)
				}
				tagSink += len(l.Tags)
			}
		})
	}
	// A line of the metric read last (see HasName), as recordLine reads it.
	b.Run("counter-named", func(b *testing.B) {
		const line, name = "bench.requests:1|c", "bench.requests"
		b.ReportAllocs()
		b.SetBytes(int64(len(line)))
		for b.Loop() {
			if !HasName(line, name) {
				b.Fatal("HasName")
			}
			var l Line
			if err := l.ReadNamed(line, len(name)); err != nil {
				b.Fatal(err)
			}
			tagSink += len(l.Tags)
		}
	})
}

// tagSink keeps the compiler from optimizing scans away.
var tagSink int

// parseValue reads integers itself: it must agree with strconv.ParseFloat,
// which reads everything else, on every value it accepts or refuses.
func TestParseValueIsParseFloat(t *testing.T) {
	values := []string{"0", "1", "-1", "+1", "-0", "+0", "007", "42", "999999999999999", "-999999999999999",
		"1000000000000000", "9007199254740993", "12.5", "1e3", "-", "+", "", "1-", "--1", "+-1", "0x10", "1_000",
		"Inf", "NaN", "1e400", " 1", "1 ", "١"}
	for i := range 2000 {
		values = append(values, strconv.Itoa(i*7919-5000))
	}
	for _, s := range values {
		got, ok := parseValue(s)
		want, err := strconv.ParseFloat(s, 64)
		wantOK := err == nil && !math.IsInf(want, 0) && !math.IsNaN(want)
		if ok != wantOK || ok && (got != want || math.Signbit(got) != math.Signbit(want)) {
			t.Errorf("parseValue(%q) = %v, %v; ParseFloat: %v, %v", s, got, ok, want, err)
		}
	}
}

// The one-pass reader takes the common form and leaves the rest to parse.
func TestParseSimpleTakesTheCommonForm(t *testing.T) {
	for _, line := range []string{"hits:1|c", "http.server/duration_ms-p:1234|ms", "queue:0|g", "h:999999999999999|h", "d:7|d", "s:3|s",
		"bench.latency:12.5|h", "t:0.001|ms", "t:.5|ms", "t:5.|ms", "t:99999999.9999999|ms"} {
		if _, ok := simple(line); !ok {
			t.Errorf("parseSimple(%q) refused it", line)
		}
	}
	for _, line := range []string{"q:-1|g", "q:+1|g", "hits: 1|c", "hits:1|c|@0.5", "hits:1|c\r", "hits:1|c ",
		"hits:1|x", "hits:|c", "1hits:1|c", "hits:1234567890123456|c", "hits:1", "", "t:.|ms", "t:1.2.3|ms", "t:1e3|ms",
		"t:0.0000000000000001|ms"} {
		if l, ok := simple(line); ok {
			t.Errorf("parseSimple(%q) = %+v: want it left to parse", line, l)
		}
	}
	// Its decimals are ParseFloat's, to the bit.
	rng := rand.New(rand.NewPCG(3, 4))
	for range 100000 {
		digits := strconv.FormatUint(rng.Uint64N(1_000_000_000_000_000), 10)
		at := rng.IntN(len(digits) + 1)
		line := "v:" + digits[:at] + "." + digits[at:] + "|h"
		fast, ok := simple(line)
		want, err := strconv.ParseFloat(digits[:at]+"."+digits[at:], 64)
		if !ok || err != nil || fast.Value != want {
			t.Fatalf("parseSimple(%q) = %v, %v; ParseFloat: %v, %v", line, fast.Value, ok, want, err)
		}
	}
}

func TestHasName(t *testing.T) {
	for _, tt := range []struct {
		line, name string
		want       bool
	}{
		{"hits:1|c", "hits", true},
		{"hits:", "hits", true},
		{"hits", "hits", false},
		{"hitsx:1|c", "hits", false},
		{"hits:1|c", "hit", false},
		{"hits :1|c", "hits", false},
		{"a.b:1|c", "a.b", true},
		{"", "a", false},
	} {
		if got := HasName(tt.line, tt.name); got != tt.want {
			t.Errorf("HasName(%q, %q) = %v, want %v", tt.line, tt.name, got, tt.want)
		}
	}
}

// simple is parseSimple returning its Line.
func simple(line string) (Line, bool) {
	var l Line
	ok := parseSimple(&l, line)
	return l, ok
}
