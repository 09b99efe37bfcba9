package tags

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/extism-observe/observe/internal/testutil"
)

type tagWant struct {
	key, value string
	hasValue   bool
}

func (w tagWant) String() string {
	if !w.hasValue {
		return strconv.Quote(w.key)
	}
	return strconv.Quote(w.key) + ":" + strconv.Quote(w.value)
}

var tagScannerTests = []struct {
	name string
	in   string
	want []tagWant
}{
	{"empty", "", nil},
	{"one tag", "k:v", []tagWant{{"k", "v", true}}},
	{
		"mixed",
		"http.method:GET, http.url:https://example.com:8443/a?b=c ,cached,:dropped, ",
		[]tagWant{
			{"http.method", "GET", true},
			{"http.url", "https://example.com:8443/a?b=c", true},
			{"cached", "", false},
		},
	},
	{"empty value", "k:", []tagWant{{"k", "", true}}},
	{"blank value", "k: \t", []tagWant{{"k", "", true}}},
	{"flag", "cached", []tagWant{{"cached", "", false}}},
	{"padded flag", " \tcached\t ", []tagWant{{"cached", "", false}}},
	{"value holds colons", "k::v:w", []tagWant{{"k", ":v:w", true}}},
	{"tabs and spaces trimmed", "\t k \t:\t v \t", []tagWant{{"k", "v", true}}},
	{"inner spaces kept", "a key: a value", []tagWant{{"a key", "a value", true}}},
	{"CR is not trimmed", "k:v\r", []tagWant{{"k", "v\r", true}}},
	{"leading comma", ",a:b", []tagWant{{"a", "b", true}}},
	{"trailing comma", "a:b,", []tagWant{{"a", "b", true}}},
	{"empty items", ",,a:b,,,c,,", []tagWant{{"a", "b", true}, {"c", "", false}}},
	{"only commas", ",,,", nil},
	{"blank items", " , \t ,", nil},
	{"empty key", ":v", nil},
	{"blank key", " \t:v,k:v", []tagWant{{"k", "v", true}}},
	{"colon only", ":", nil},
	{"repeated keys all returned", "a:1,a:2", []tagWant{{"a", "1", true}, {"a", "2", true}}},
	{"utf-8", "ключ:значение", []tagWant{{"ключ", "значение", true}}},
	{"invalid utf-8 passed through", "\xff:\xfe", []tagWant{{"\xff", "\xfe", true}}},
}

func scanAllTags(s string) []tagWant {
	var got []tagWant
	ts := Scanner{s}
	for {
		k, v, hasValue, ok := ts.Next()
		if !ok {
			return got
		}
		got = append(got, tagWant{k, v, hasValue})
	}
}

func TestTagScanner(t *testing.T) {
	for _, tt := range tagScannerTests {
		t.Run(tt.name, func(t *testing.T) {
			got := scanAllTags(tt.in)
			if !slices.Equal(got, tt.want) {
				t.Errorf("tags of %q = %v, want %v", tt.in, got, tt.want)
			}
			for _, g := range got {
				if !testutil.Within(g.key, tt.in) || !testutil.Within(g.value, tt.in) {
					t.Errorf("tag %v is not a substring of %q", g, tt.in)
				}
			}
		})
	}
}

func TestTagScannerStaysDone(t *testing.T) {
	ts := Scanner{"a:b"}
	ts.Next()
	for range 3 {
		if k, v, hasValue, ok := ts.Next(); ok || k != "" || v != "" || hasValue {
			t.Fatalf("next after the end = (%q, %q, %v, %v), want zero values", k, v, hasValue, ok)
		}
	}
}

func TestTagScannerAllocs(t *testing.T) {
	const s = "http.method:GET, http.url:https://example.com:8443/a?b=c ,cached,:dropped, "
	n := testing.AllocsPerRun(100, func() {
		ts := Scanner{s}
		for {
			k, v, _, ok := ts.Next()
			if !ok {
				break
			}
			tagSink += len(k) + len(v)
		}
	})
	if n != 0 {
		t.Errorf("scanning tags allocates %v times, want 0", n)
	}
}

// FuzzTagScanner checks the scanner against a plain, allocating
// implementation of the same rules.
func FuzzTagScanner(f *testing.F) {
	for _, tt := range tagScannerTests {
		f.Add(tt.in)
	}
	// DogStatsD tag lists, as metric lines carry them.
	for _, s := range []string{"env:prod,cached", "http.url:https://example.com:8443/a?b=c,cached", " a : b ,\t,c:"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var want []tagWant
		for _, item := range strings.Split(s, ",") {
			k, v, hasValue := strings.Cut(item, ":")
			if k = strings.Trim(k, " \t"); k != "" {
				want = append(want, tagWant{k, strings.Trim(v, " \t"), hasValue})
			}
		}

		var got []tagWant
		ts := Scanner{s}
		for range strings.Count(s, ",") + 2 {
			k, v, hasValue, ok := ts.Next()
			if !ok {
				break
			}
			got = append(got, tagWant{k, v, hasValue})
			switch {
			case k == "" || k != strings.Trim(k, " \t") || v != strings.Trim(v, " \t"):
				t.Errorf("tag (%q, %q) is empty or not trimmed", k, v)
			case strings.Contains(k, ",") || strings.Contains(k, ":") || strings.Contains(v, ","):
				t.Errorf("tag (%q, %q) holds a separator", k, v)
			case !hasValue && v != "":
				t.Errorf("flag %q has value %q", k, v)
			case !testutil.Within(k, s) || !testutil.Within(v, s):
				t.Errorf("tag (%q, %q) is not a substring of the input", k, v)
			}
		}
		if _, _, _, ok := ts.Next(); ok {
			t.Fatalf("scanner of %q did not stop", s)
		}
		if !slices.Equal(got, want) {
			t.Errorf("tags of %q = %v, want %v", s, got, want)
		}
	})
}

func BenchmarkTagScanner(b *testing.B) {
	const s = "http.method:GET, http.url:https://example.com:8443/a?b=c, http.status_code:200, cached"
	b.ReportAllocs()
	b.SetBytes(int64(len(s)))
	for b.Loop() {
		ts := Scanner{s}
		for {
			k, v, _, ok := ts.Next()
			if !ok {
				break
			}
			tagSink += len(k) + len(v)
		}
	}
}

// tagSink keeps the compiler from optimizing scans away.
var tagSink int
